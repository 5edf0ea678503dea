/**
 * Which DVC remote gets which object: the `remotes` fixture (three DVC
 * remotes, `data/raw.csv` pinned to `other`, `report.txt` to `third`) against
 * every push/fetch/pull/status/exp push/exp pull golden real DVC made there
 * (tests/fixtures/README.md §9). Each case checks the effect — the objects
 * each remote folder gained, the refs on origin, the cache — not only the
 * message. Routing is `transferRemoteOf` on the production path: `-r X`
 * sends everything not pinned elsewhere to X and leaves out what is.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureCopy, listFiles, sectionLines, workspaceFiles } from "./helpers/fixture_repo.ts";
import { readGolden, sortedLines } from "./helpers/golden.ts";
import {
  addedSince,
  cloneAs,
  experimentNames,
  REMOTE_NAMES,
  remoteObjects,
  useEmptyRemotes,
} from "./helpers/dvc_remotes.ts";

const B3 = "c6d34a0a096dcc0e6afaa76344ef97315066a991";
const EXP_3 = `refs/exps/c6/${B3.slice(2)}/exp-3`;

/** Checks the remotes' state after a push against a golden's "after" sections. */
function assertRemotesAsGolden(
  root: string,
  before: Set<string>,
  golden: ReturnType<typeof readGolden>,
  label: string,
) {
  assert.deepEqual(
    addedSince(before, remoteObjects(root)),
    sortedLines(golden.sections.get("after: objects added to the DVC remotes (<remote>/<path>)")!),
    `${label}: objects added per remote`,
  );
  for (const name of REMOTE_NAMES) {
    assert.deepEqual(
      listFiles(join(root, name)),
      sectionLines(golden.sections.get(`after: files in ../${name}`)),
      `${label}: files in ../${name}`,
    );
  }
}

// ---------------------------------------------------------------- exp push

const EXP_PUSH: [string, string[]][] = [
  ["exp-push_exp-3", ["exp", "push", "origin", "exp-3"]],
  ["exp-push_exp-3_r-other", ["exp", "push", "origin", "exp-3", "-r", "other"]],
  ["exp-push_exp-3_r-third", ["exp", "push", "origin", "exp-3", "-r", "third"]],
  ["exp-push_exp-3_r-store", ["exp", "push", "origin", "exp-3", "-r", "store"]],
  ["exp-push_exp-3_run-cache", ["exp", "push", "origin", "exp-3", "--run-cache"]],
  [
    "exp-push_exp-3_r-other_run-cache",
    ["exp", "push", "origin", "exp-3", "-r", "other", "--run-cache"],
  ],
  ["exp-push_A_r-other", ["exp", "push", "origin", "-A", "-r", "other"]],
];

for (const [name, argv] of EXP_PUSH) {
  Deno.test(`dxp ${argv.join(" ")} puts each object on the remote DVC chose (golden ${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const golden = readGolden("remotes", name);
      assert.deepEqual(golden.command.split(" ").slice(1).sort(), [...argv].sort(), "same command");
      const before = remoteObjects(fx.root);
      const result = fx.dxp(argv);
      assert.equal(result.code, golden.exitCode, result.stderr);
      assert.equal(result.stderr, golden.stderr);
      const [pushed, ...rest] = result.stdout.split("\n");
      const [dvcPushed, ...dvcRest] = golden.stdout.split("\n");
      assert.deepEqual(experimentNames(pushed), experimentNames(dvcPushed));
      assert.deepEqual(rest, dvcRest, "the 'N files uploaded' line");
      assert.deepEqual(
        sortedLines(fx.git(["ls-remote", "../origin.git", "refs/exps/*"])),
        sortedLines(golden.sections.get("after: git ls-remote origin 'refs/exps/*'")!),
      );
      assertRemotesAsGolden(fx.root, before, golden, name);
      fx.git(["fsck", "--full"], join(fx.root, "origin.git"));
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp exp push -r with an unknown remote fails before any traffic (golden exp-push_exp-3_r-unknown: DVC pushes the ref first)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const golden = readGolden("remotes", "exp-push_exp-3_r-unknown");
    // DVC pushed the ref, then failed (exit 255) and left it there.
    assert.match(golden.sections.get("after: git ls-remote origin 'refs/exps/*'")!, /exp-3/);
    const before = remoteObjects(fx.root);
    const result = fx.dxp(["exp", "push", "origin", "exp-3", "-r", "nope"]);
    assert.equal(result.code, 251);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      "ERROR: configuration error - config file error: remote 'nope' doesn't exist\n",
    );
    assert.equal(fx.git(["ls-remote", "../origin.git", "refs/exps/*"]), "");
    assert.deepEqual(addedSince(before, remoteObjects(fx.root)), []);
    // Same before any traffic for pull, dry runs and the plain data verbs.
    for (
      const argv of [
        ["exp", "push", "--dry-run", "origin", "exp-3", "-r", "nope"],
        ["exp", "pull", "origin", "exp-3", "-r", "nope"],
        ["push", "-r", "nope"],
        ["fetch", "-r", "nope"],
        ["status", "-c", "-r", "nope"],
      ]
    ) {
      const other = fx.dxp(argv);
      assert.equal(other.code, 251, argv.join(" "));
      assert.match(other.stderr, /remote 'nope' doesn't exist/, argv.join(" "));
    }
    assert.deepEqual(addedSince(before, remoteObjects(fx.root)), []);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push -r to a remote that cannot be written keeps the ref back and moves nothing elsewhere", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    // A "bucket" that cannot exist: its parent is a file.
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(fx.root, "not-a-dir"), "x");
    writeFileSync(
      join(fx.repo, ".dvc", "config.local"),
      "['remote \"bad\"']\n    url = ../../not-a-dir/store\n",
    );
    const before = remoteObjects(fx.root);
    const result = fx.dxp(["exp", "push", "origin", "exp-3", "-r", "bad"]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /failed to upload \(DVC remote 'bad'\)/);
    assert.match(result.stderr, /Experiment exp-3 was not pushed: some of its objects failed/);
    assert.equal(fx.git(["ls-remote", "../origin.git", "refs/exps/*"]), "");
    assert.deepEqual(addedSince(before, remoteObjects(fx.root)), []);
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- objects-*.txt

/** Each `objects-*` golden: the complete set DVC uploads into three empty remotes. */
const OBJECTS: [string, string[]][] = [
  ["objects-exp-1", [
    "exp",
    "push",
    "origin",
    `refs/exps/59/cd22220db6b081790dd907a87d270cc16022c1/exp-1`,
  ]],
  ["objects-exp-2", [
    "exp",
    "push",
    "origin",
    `refs/exps/98/9d273dd6006ac3f8bf3e5a301479492e0a2e11/exp-2`,
  ]],
  ["objects-exp-3", ["exp", "push", "origin", EXP_3]],
  ["objects-exp-3_r-other", ["exp", "push", "origin", EXP_3, "-r", "other"]],
  ["objects-exp-3_r-third", ["exp", "push", "origin", EXP_3, "-r", "third"]],
  ["objects-exp-4", ["exp", "push", "origin", `refs/exps/c6/${B3.slice(2)}/exp-4`]],
  ["objects-workspace-baseline3", ["push"]],
  ["objects-workspace-baseline3_r-other", ["push", "-r", "other"]],
];

for (const [name, argv] of OBJECTS) {
  Deno.test(`dxp ${argv.join(" ")} into three empty remotes uploads exactly DVC's objects (golden ${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const folders = useEmptyRemotes(fx);
      const text = await Deno.readTextFile(
        new URL(`./fixtures/golden/remotes/${name}.txt`, import.meta.url),
      );
      const header = text.split("\n").filter((l) => l.startsWith("# "));
      const dvcOutput = header.filter((l) => l.startsWith("# dvc output: ")).map((l) =>
        l.slice("# dvc output: ".length)
      );
      const expected = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).sort();
      const result = fx.dxp(argv);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, dvcOutput.map((l) => `${l}\n`).join(""));
      assert.deepEqual([...remoteObjects(fx.root, folders)].sort(), expected);
    } finally {
      await fx.cleanup();
    }
  });
}

// ---------------------------------------------------------------- dvc push

const PUSH: [string, string[]][] = [
  ["dvc-push", ["push"]],
  ["dvc-push_A", ["push", "-A"]],
  ["dvc-push_A_r-other", ["push", "-A", "-r", "other"]],
  ["dvc-push_T", ["push", "-T"]],
  ["dvc-push_a", ["push", "-a"]],
  ["dvc-push_r-other", ["push", "-r", "other"]],
  ["dvc-push_r-third", ["push", "-r", "third"]],
];

for (const [name, argv] of PUSH) {
  Deno.test(`dxp ${argv.join(" ")} routes the work tree's (and revisions') objects as DVC (golden ${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const golden = readGolden("remotes", name);
      assert.deepEqual(golden.command.split(" ").slice(1), argv);
      const before = remoteObjects(fx.root);
      const result = fx.dxp(argv);
      assert.equal(result.code, golden.exitCode, result.stderr);
      assert.equal(result.stdout, golden.stdout);
      assert.equal(result.stderr, golden.stderr);
      assertRemotesAsGolden(fx.root, before, golden, name);
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp push -T adds every tagged commit's objects to the work tree's", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const folders = useEmptyRemotes(fx);
    const B1 = "59cd22220db6b081790dd907a87d270cc16022c1";
    fx.git(["tag", "v1", B1]);
    const tagged = fx.dxp(["push", "-T", "-r", "store"]);
    assert.equal(tagged.code, 0, tagged.stderr);
    // The work tree (B3) gives store its 5 train objects (the pinned raw.csv and
    // report.txt are left out with -r store); B1 adds its own features .dir,
    // rows.csv, sub/lr.txt and model.bin (const.txt is shared): 9.
    assert.equal(tagged.stdout, "9 files pushed\n");
    const stored = [...remoteObjects(fx.root, folders)].filter((o) => o.startsWith("store/"));
    assert.equal(stored.length, 9);
    assert.ok(stored.includes("store/files/md5/01/b232f9f1ca1d2f678e14b05ef7e65e.dir"));
    assert.ok(stored.includes("store/files/md5/7e/c89725ae79f68518d9b8993edb42dc"));
    assert.equal(fx.dxp(["push", "-r", "store"]).stdout, "Everything is up to date.\n");
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- fetch / pull in a fresh clone

Deno.test("dxp fetch in a fresh clone takes each object from its own remote (golden dvc-fetch_fresh-clone)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const clone = fx.freshClone();
    const golden = readGolden("remotes", "dvc-fetch_fresh-clone");
    const result = fx.dxp(["fetch"], clone);
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.equal(result.stderr, golden.stderr);
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
    );
    assert.deepEqual(
      workspaceFiles(clone),
      sectionLines(golden.sections.get("after: workspace files (md5 mode path)")),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp fetch -r other takes only what is routed there and reports the rest missing (golden dvc-fetch_r-other_fresh-clone)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const clone = fx.freshClone();
    const golden = readGolden("remotes", "dvc-fetch_r-other_fresh-clone");
    const result = fx.dxp(["fetch", "-r", "other"], clone);
    // DVC exits 0 here; our exit-code table makes missing objects a 1.
    assert.equal(golden.exitCode, 0);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.deepEqual(sortedLines(result.stderr), sortedLines(golden.stderr));
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
    );
  } finally {
    await fx.cleanup();
  }
});

const PULL: [string, string[]][] = [
  ["dvc-pull_fresh-clone", ["pull"]],
  ["dvc-pull_r-other_fresh-clone", ["pull", "-r", "other"]],
  ["dvc-pull_r-third_fresh-clone", ["pull", "-r", "third"]],
  ["dvc-pull_report.txt_fresh-clone", ["pull", "report.txt"]],
];

for (const [name, argv] of PULL) {
  Deno.test(`dxp ${argv.join(" ")} in a fresh clone fetches and checks out what DVC did (golden ${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const clone = fx.freshClone();
      const golden = readGolden("remotes", name);
      assert.deepEqual(golden.command.split(" ").slice(1), argv);
      const result = fx.dxp(argv, clone);
      assert.equal(result.code, golden.exitCode, result.stderr);
      assert.deepEqual(sortedLines(result.stdout), sortedLines(golden.stdout));
      assert.deepEqual(sortedLines(result.stderr), sortedLines(golden.stderr));
      assert.deepEqual(
        listFiles(join(clone, ".dvc", "cache"), true),
        sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
      );
      assert.deepEqual(
        workspaceFiles(clone),
        sectionLines(golden.sections.get("after: workspace files (md5 mode path)")),
      );
      assert.equal(fx.git(["status", "--short"], clone), "");
    } finally {
      await fx.cleanup();
    }
  });
}

// ---------------------------------------------------------------- exp pull in a fresh clone

const EXP_PULL: [string, string[]][] = [
  ["exp-pull_exp-3_fresh-clone", ["exp", "pull", "origin", "exp-3"]],
  ["exp-pull_exp-3_r-other_fresh-clone", ["exp", "pull", "origin", "exp-3", "-r", "other"]],
  ["exp-pull_exp-3_r-third_fresh-clone", ["exp", "pull", "origin", "exp-3", "-r", "third"]],
];

for (const [name, argv] of EXP_PULL) {
  Deno.test(`dxp ${argv.join(" ")} in a fresh clone fills the cache from the remotes DVC uses (golden ${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      // The goldens' setup: `exp push origin -A` with the default routing.
      const setup = fx.dxp(["exp", "push", "origin", "-A"]);
      assert.equal(setup.code, 0, setup.stderr);
      const golden = readGolden("remotes", name);
      assert.deepEqual(golden.command.split(" ").slice(1), argv);
      const cacheOf = (clone: string) => listFiles(join(clone, ".dvc", "cache"), true);
      const clone = fx.freshClone();
      const result = fx.dxp(argv, clone);
      assert.equal(result.stdout, "Pulled experiment exp-3 from Git remote 'origin'.\n");
      assert.deepEqual(experimentNames(result.stdout), experimentNames(golden.stdout));
      assert.deepEqual(sortedLines(result.stderr), sortedLines(golden.stderr));
      // Objects missing from the remote are a 1 for us (DVC: 0); --allow-missing gives DVC's 0.
      assert.equal(result.code, golden.stderr === "" ? 0 : 1, result.stderr);
      assert.equal(
        fx.git(["for-each-ref", "refs/exps"], clone).replace(/ commit\t/g, " "),
        golden.sections.get("after: git for-each-ref refs/exps"),
      );
      assert.deepEqual(
        cacheOf(clone),
        sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
      );
      if (golden.stderr !== "") {
        const second = cloneAs(fx, "clone-allow-missing");
        const allowed = fx.dxp([
          "exp",
          "pull",
          "origin",
          "exp-3",
          ...argv.slice(4),
          "--allow-missing",
        ], second);
        assert.equal(allowed.code, golden.exitCode, allowed.stderr);
        assert.deepEqual(sortedLines(allowed.stderr), sortedLines(golden.stderr));
        assert.deepEqual(cacheOf(second), cacheOf(clone));
      }
    } finally {
      await fx.cleanup();
    }
  });
}

// ---------------------------------------------------------------- status -c

Deno.test("dxp status -c [-r X] against the fixture's remotes says what DVC says (goldens dvc-status_c*)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const cases: [string, string[]][] = [
      ["dvc-status_c", ["status", "-c"]],
      ["dvc-status_c_r-other", ["status", "-c", "-r", "other"]],
      ["dvc-status_c_r-store", ["status", "-c", "-r", "store"]],
      ["dvc-status_c_r-third", ["status", "-c", "-r", "third"]],
    ];
    for (const [name, argv] of cases) {
      const golden = readGolden("remotes", name);
      assert.deepEqual(golden.command.split(" ").slice(1), argv);
      const result = fx.dxp(argv);
      assert.equal(result.code, golden.exitCode, `${name}: ${result.stderr}`);
      assert.deepEqual(sortedLines(result.stdout), sortedLines(golden.stdout), name);
      assert.equal(result.stderr, golden.stderr, name);
      // -q: the answer is the exit code (DVC: 1 when not in sync).
      const quiet = fx.dxp([...argv, "-q"]);
      assert.equal(quiet.stdout, "");
      assert.equal(quiet.code, golden.stdout.startsWith("Cache and remote") ? 0 : 1, name);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp status -c checks outputs pinned to a remote against that remote (DVC leaves them out: goldens dvc-status_c*_empty-remotes)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    useEmptyRemotes(fx);
    const all = readGolden("remotes", "dvc-status_c_empty-remotes");
    const result = fx.dxp(["status", "-c"]);
    assert.equal(result.code, all.exitCode, result.stderr);
    // DVC's five lines, plus the two pinned outputs it never reports.
    assert.deepEqual(
      sortedLines(result.stdout),
      sortedLines(
        all.stdout + `\t${"new:".padEnd(20)}data/raw.csv\n\t${"new:".padEnd(20)}report.txt\n`,
      ),
    );
    const other = readGolden("remotes", "dvc-status_c_r-other_empty-remotes");
    const withR = fx.dxp(["status", "-c", "-r", "other"]);
    // -r other: raw.csv (pinned to other) is compared there; report.txt (third) is left out.
    assert.deepEqual(
      sortedLines(withR.stdout),
      sortedLines(other.stdout + `\t${"new:".padEnd(20)}data/raw.csv\n`),
    );
    const json = fx.dxp(["status", "-c", "-r", "third", "--json"]);
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout), {
      "features": "new",
      "features/const.txt": "new",
      "features/rows.csv": "new",
      "features/sub/lr.txt": "new",
      "model.bin": "new",
      "report.txt": "new",
    });
    const quiet = fx.dxp(["status", "-c", "-q"]);
    assert.equal(quiet.code, 1);
    assert.equal(quiet.stdout + quiet.stderr, "");
    // After a push the pinned outputs are found where they belong.
    assert.equal(fx.dxp(["push"]).code, 0);
    const synced = fx.dxp(["status", "-c"]);
    assert.equal(synced.stdout, "Cache and remote 'store' are in sync.\n");
    assert.equal(fx.dxp(["status", "-c", "-q"]).code, 0);
  } finally {
    await fx.cleanup();
  }
});
