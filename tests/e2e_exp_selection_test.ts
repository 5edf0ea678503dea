/**
 * Experiment selection (`-A`, `--rev`, `-n`, no names) of `exp push`,
 * `exp pull`, `exp list` and `exp show` on the binary, against the goldens
 * real DVC wrote for the `remotes` fixture (three baselines B1 ← B2 ← B3,
 * exp-1 on B1, exp-2 on B2, exp-3 and exp-4 on B3). Every case checks the
 * effect — refs on the Git remote (`git ls-remote`), local refs
 * (`git for-each-ref`), objects in each DVC remote folder — so a flag that
 * were ignored would select other experiments and fail.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  type FixtureCopy,
  fixtureCopy,
  listFiles,
  sectionLines,
  workspaceFiles,
} from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import {
  assertExpMessages,
  expListBlocks,
  expRefLines,
  normalizeExpText,
} from "./helpers/exp_goldens.ts";
import type { RunResult } from "./helpers/tmp.ts";

const B1 = "59cd22220db6b081790dd907a87d270cc16022c1";
const B2 = "989d273dd6006ac3f8bf3e5a301479492e0a2e11";
const B3 = "c6d34a0a096dcc0e6afaa76344ef97315066a991";
const DVC_REMOTES = ["store", "other", "third"] as const;

/** `<remote>/<path>` of every object in the three DVC remote folders. */
function dvcObjects(fx: FixtureCopy): Set<string> {
  return new Set(
    DVC_REMOTES.flatMap((remote) =>
      listFiles(join(fx.root, remote)).map((path) => `${remote}/${path}`)
    ),
  );
}

/** `git ls-remote origin 'refs/exps/*'`, as the goldens record it. */
function remoteExps(fx: FixtureCopy): string {
  return fx.git(["ls-remote", "origin", "refs/exps/*"]);
}

/** A copy of the remotes fixture whose four experiments are on origin with their data. */
async function pushedCopy(): Promise<FixtureCopy> {
  const fx = await fixtureCopy("remotes");
  const pushed = fx.dxp(["exp", "push", "origin", "-A"]);
  assert.equal(pushed.code, 0, pushed.stderr);
  return fx;
}

const pushCases: { golden: string; argv: string[] }[] = [
  { golden: "exp-push_A", argv: ["exp", "push", "origin", "-A"] },
  { golden: "exp-push_no-names", argv: ["exp", "push", "origin"] },
  { golden: "exp-push_rev-B1", argv: ["exp", "push", "origin", "--rev", B1] },
  { golden: "exp-push_rev-B3_n2", argv: ["exp", "push", "origin", "--rev", B3, "-n", "2"] },
];

for (const { golden: name, argv } of pushCases) {
  Deno.test(`dxp ${argv.join(" ")} pushes DVC's refs and objects (remotes/${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const golden = readGolden("remotes", name);
      assert.equal(argv.join(" "), golden.command.replace(/^dvc /, ""));
      const before = dvcObjects(fx);
      const result = fx.dxp(argv);
      assertExpMessages(result, golden, name);
      assert.equal(
        remoteExps(fx),
        golden.sections.get("after: git ls-remote origin 'refs/exps/*'"),
      );
      const added = [...dvcObjects(fx)].filter((o) => !before.has(o)).sort();
      assert.deepEqual(
        added,
        sectionLines(
          golden.sections.get("after: objects added to the DVC remotes (<remote>/<path>)"),
        ),
      );
      for (const remote of DVC_REMOTES) {
        assert.deepEqual(
          listFiles(join(fx.root, remote)),
          sectionLines(golden.sections.get(`after: files in ../${remote}`)),
          remote,
        );
      }
      fx.git(["fsck", "--full"], join(fx.root, "origin.git"));
      // Local experiments are never touched by a push.
      assert.equal(expRefLines(fx).split("\n").filter(Boolean).length, 5);
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp exp push -n without --rev counts from HEAD; --rev twice takes both baselines", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    // -n 2 from HEAD = B3: B3 and B2, as --rev B3 -n 2 (golden exp-push_rev-B3_n2).
    const golden = readGolden("remotes", "exp-push_rev-B3_n2");
    const result = fx.dxp(["exp", "push", "origin", "-n", "2"]);
    assertExpMessages(result, golden, "exp-push -n 2");
    assert.equal(remoteExps(fx), golden.sections.get("after: git ls-remote origin 'refs/exps/*'"));
    // Then B1 and B2 by two --rev: exp-1 is new, exp-2 is up to date.
    const both = fx.dxp(["exp", "push", "origin", "--rev", B1, "--rev", B2]);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(normalizeExpText(both.stdout), [
      "Experiment [exp-2] are up to date on Git remote 'origin'.",
      "Pushed experiment [exp-1] to Git remote 'origin'.",
      "4 files uploaded",
    ]);
    assert.equal(
      remoteExps(fx),
      readGolden("remotes", "exp-push_A").sections.get("after: git ls-remote origin 'refs/exps/*'"),
    );
  } finally {
    await fx.cleanup();
  }
});

const pullCases: { golden: string; argv: string[] }[] = [
  { golden: "exp-pull_A_fresh-clone", argv: ["exp", "pull", "origin", "-A"] },
  { golden: "exp-pull_rev-B2_fresh-clone", argv: ["exp", "pull", "origin", "--rev", B2] },
  {
    golden: "exp-pull_rev-B3_n3_fresh-clone",
    argv: ["exp", "pull", "origin", "--rev", B3, "-n", "3"],
  },
];

Deno.test("dxp exp pull -A / --rev / --rev -n in a fresh clone fetch DVC's refs and objects (remotes)", async () => {
  const fx = await pushedCopy();
  try {
    for (const { golden: name, argv } of pullCases) {
      const golden = readGolden("remotes", name);
      assert.equal(argv.join(" "), golden.command.replace(/^dvc /, ""));
      rmSync(join(fx.root, "clone"), { recursive: true, force: true });
      const clone = fx.freshClone();
      const result = fx.dxp(argv, clone);
      // dxp names pulled experiments plainly, DVC prints a list repr: same names.
      assertExpMessages(result, golden, name);
      assert.equal(
        expRefLines(fx, clone),
        golden.sections.get("after: git for-each-ref refs/exps"),
      );
      assert.deepEqual(
        listFiles(join(clone, ".dvc", "cache"), true),
        sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
        name,
      );
      assert.deepEqual(
        workspaceFiles(clone),
        sectionLines(golden.sections.get("after: workspace files (md5 mode path)")),
        name,
      );
      fx.git(["fsck", "--full"], clone);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull without names and with -n alone select HEAD's baseline and its ancestors", async () => {
  const fx = await pushedCopy();
  try {
    const clone = fx.freshClone();
    const none = fx.dxp(["exp", "pull", "origin"], clone);
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(normalizeExpText(none.stdout), [
      "Pulled experiment [exp-3 exp-4] from Git remote 'origin'.",
    ]);
    const refs = () =>
      fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"], clone).split("\n").filter(
        Boolean,
      ).map((ref) => ref.split("/").pop());
    assert.deepEqual(refs(), ["exp-3", "exp-4"]);
    const two = fx.dxp(["exp", "pull", "origin", "-n", "2"], clone);
    assert.equal(two.code, 0, two.stderr);
    // As DVC, a pull names only what it changed (exp-3 and exp-4 are up to date).
    assert.deepEqual(normalizeExpText(two.stdout), [
      "Pulled experiment [exp-2] from Git remote 'origin'.",
    ]);
    assert.deepEqual(refs(), ["exp-2", "exp-3", "exp-4"]);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp list matches the remotes goldens (-A, origin, origin -A, origin --rev B3 -n 2/3)", async () => {
  const fx = await pushedCopy();
  try {
    const cases: { golden: string; argv: string[] }[] = [
      { golden: "exp-list_A", argv: ["exp", "list", "-A"] },
      { golden: "exp-list_origin", argv: ["exp", "list", "origin"] },
      { golden: "exp-list_origin_A", argv: ["exp", "list", "origin", "-A"] },
      {
        golden: "exp-list_origin_rev-B3_n2",
        argv: ["exp", "list", "origin", "--rev", B3, "-n", "2"],
      },
      {
        golden: "exp-list_origin_rev-B3_n3",
        argv: ["exp", "list", "origin", "--rev", B3, "-n", "3"],
      },
    ];
    for (const { golden: name, argv } of cases) {
      const golden = readGolden("remotes", name);
      assert.equal(argv.join(" "), golden.command.replace(/^dvc /, ""));
      const result = fx.dxp(argv);
      assert.equal(result.code, golden.exitCode, name);
      assert.deepEqual(expListBlocks(result.stdout), expListBlocks(golden.stdout), name);
      assert.equal(result.stderr, golden.stderr, name);
    }
    // The same selections locally: -n 2 leaves B1 out, -A does not.
    assert.equal(
      fx.dxp(["exp", "list", "-n", "2"]).stdout,
      "main:\n\td05afa8 [exp-3]\n\t9e90d4b [exp-4]\n989d273:\n\t5b5b664 [exp-2]\n",
    );
  } finally {
    await fx.cleanup();
  }
});

/** `--csv` rows of `exp show` as `<Experiment or rev>` cells. */
function shownRevs(result: RunResult): string[] {
  assert.equal(result.code, 0, result.stderr);
  const [header, ...rows] = result.stdout.split("\r\n").filter(Boolean).map((l) => l.split(","));
  const exp = header!.indexOf("Experiment");
  const rev = header!.indexOf("rev");
  return rows.map((cells) => cells[exp] || cells[rev]!);
}

Deno.test("dxp exp show -n 2 shows B3 and B2 with their experiments; -A adds B1 and exp-1", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const two = shownRevs(fx.dxp(["exp", "show", "--csv", "-n", "2"]));
    assert.deepEqual(two, ["workspace", "main", "exp-4", "exp-3", "989d273", "exp-2"]);
    const all = shownRevs(fx.dxp(["exp", "show", "--csv", "-A"]));
    assert.deepEqual(all, [...two, "59cd222", "exp-1"]);
    const one = shownRevs(fx.dxp(["exp", "show", "--csv"]));
    assert.deepEqual(one, ["workspace", "main", "exp-4", "exp-3"]);
    const b1 = shownRevs(fx.dxp(["exp", "show", "--csv", "--rev", B1]));
    assert.deepEqual(b1, ["workspace", "59cd222", "exp-1"]);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull of a full ref the remote does not have fails before fetching anything", async () => {
  const fx = await pushedCopy();
  try {
    const clone = fx.freshClone();
    const nope = `refs/exps/c6/${B3.slice(2)}/nope`;
    const result = fx.dxp(
      ["exp", "pull", "origin", `refs/exps/c6/${B3.slice(2)}/exp-3`, nope],
      clone,
    );
    assert.equal(result.code, 255);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, `ERROR: '${nope}' is not a valid experiment name\n`);
    assert.equal(expRefLines(fx, clone), "");
    assert.equal(listFiles(join(clone, ".dvc", "cache")).length, 0);
  } finally {
    await fx.cleanup();
  }
});
