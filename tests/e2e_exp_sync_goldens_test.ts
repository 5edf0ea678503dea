/**
 * `exp push` / `exp pull` / `exp list` on the binary against the goldens of
 * the `basic` and `legacy` fixtures that the other e2e files do not cover:
 * full refs, a second identical push, a path as the Git remote, no names,
 * `--no-cache`, diverged refs with and without `-f`, ambiguous names on the
 * remote, fresh clones, and the exact object set of each experiment pushed
 * alone into an empty DVC remote (`objects-*`). Where dxp deliberately
 * differs (README "Where dxp deliberately differs"), the test says so and
 * checks our behaviour.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles, sectionLines } from "./helpers/fixture_repo.ts";
import { type Golden, readGolden, sortedLines } from "./helpers/golden.ts";
import { expListBlocks, expRefLines, normalizeExpText } from "./helpers/exp_goldens.ts";
import type { FixtureName, RunResult } from "./helpers/tmp.ts";

const B1 = "21f7f42d14aa43c823f2eb809f36b2453ef5d73b";
const EXP_A_B1 = `refs/exps/21/${B1.slice(2)}/exp-a`;
const EXP_A_B2 = "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a";
const EXP_B = `refs/exps/21/${B1.slice(2)}/exp-b`;
const TYPED_GULF = "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/typed-gulf";

/** Same exit code, stdout and stderr, byte for byte. */
function assertExact(result: RunResult, golden: Golden, name: string) {
  assert.equal(result.code, golden.exitCode, `${name}: ${result.stderr}`);
  assert.equal(result.stdout, golden.stdout, name);
  assert.equal(result.stderr, golden.stderr, name);
}

/** Runs `fn` and returns the files it added under `dir`. */
function added(dir: string, fn: () => void): string[] {
  const before = new Set(listFiles(dir));
  fn();
  return listFiles(dir).filter((f) => !before.has(f));
}

Deno.test("dxp exp push of full refs, again, of an experiment already there, and to a path remote (basic goldens)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const store = join(fx.root, "dvcstore");
    const lsRemote = () => fx.git(["ls-remote", "../origin.git"]);

    const first = readGolden("basic", "exp-push_full-ref_exp-a-baseline1");
    let result!: RunResult;
    const new1 = added(store, () => result = fx.dxp(["exp", "push", "origin", EXP_A_B1]));
    assertExact(result, first, "exp-push_full-ref_exp-a-baseline1");
    assert.equal(lsRemote(), first.sections.get("after: git ls-remote ../origin.git"));
    assert.deepEqual(new1, sectionLines(first.sections.get("after: objects added to ../dvcstore")));

    const again = readGolden("basic", "exp-push_full-ref_exp-a-baseline1_again");
    const new2 = added(store, () => result = fx.dxp(["exp", "push", "origin", EXP_A_B1]));
    assertExact(result, again, "exp-push_full-ref_exp-a-baseline1_again");
    assert.deepEqual(new2, []);

    const there = readGolden("basic", "exp-push_exp-b_already-on-remote");
    assertExact(
      fx.dxp(["exp", "push", "origin", "exp-b"]),
      there,
      "exp-push_exp-b_already-on-remote",
    );
    assert.equal(lsRemote(), first.sections.get("after: git ls-remote ../origin.git"));

    // The Git remote given as a path: messages quote it as typed.
    const path = readGolden("basic", "exp-push_path-remote_exp-a-baseline2");
    assertExact(
      fx.dxp(["exp", "push", "../origin.git", EXP_A_B2]),
      path,
      "exp-push_path-remote_exp-a-baseline2",
    );
    assert.equal(lsRemote(), path.sections.get("after: git ls-remote ../origin.git"));
    fx.git(["fsck", "--full"], join(fx.root, "origin.git"));

    const list = readGolden("basic", "exp-list_path-remote");
    const listed = fx.dxp(["exp", "list", "-A", "../origin.git"]);
    assert.equal(listed.code, list.exitCode);
    assert.deepEqual(expListBlocks(listed.stdout), expListBlocks(list.stdout));
    assert.equal(listed.stderr, list.stderr);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push origin without names pushes HEAD's experiments as DVC (basic/exp-push_no-names)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const golden = readGolden("basic", "exp-push_no-names");
    let result!: RunResult;
    const objects = added(
      join(fx.root, "dvcstore"),
      () => result = fx.dxp(["exp", "push", "origin"]),
    );
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.deepEqual(normalizeExpText(result.stdout), normalizeExpText(golden.stdout));
    assert.equal(result.stderr, golden.stderr);
    assert.equal(
      fx.git(["ls-remote", "../origin.git"]),
      golden.sections.get("after: git ls-remote ../origin.git"),
    );
    assert.deepEqual(
      objects,
      sectionLines(golden.sections.get("after: objects added to ../dvcstore")),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push --no-cache pushes the ref only (basic/exp-push_no-cache_full-ref_exp-a-baseline1)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const golden = readGolden("basic", "exp-push_no-cache_full-ref_exp-a-baseline1");
    let result!: RunResult;
    const objects = added(
      join(fx.root, "dvcstore"),
      () => result = fx.dxp(["exp", "push", "--no-cache", "origin", EXP_A_B1]),
    );
    // Deliberate difference: the hint has its space after the comma (DVC: "storage,re-run").
    assert.equal(result.code, golden.exitCode);
    assert.equal(result.stdout, golden.stdout.replace("storage,re-run", "storage, re-run"));
    assert.equal(result.stderr, golden.stderr);
    assert.equal(
      fx.git(["ls-remote", "../origin.git"]),
      golden.sections.get("after: git ls-remote ../origin.git"),
    );
    assert.deepEqual(
      objects,
      sectionLines(golden.sections.get("after: objects added to ../dvcstore")),
    );
  } finally {
    await fx.cleanup();
  }
});

/**
 * The goldens' diverged setup: a local exp-b that is a sibling of origin's
 * (DVC re-ran it with lr=0.35; we commit exp-a's tree of baseline 1 on B1, so
 * it has real, not yet pushed data). Returns the new local commit.
 */
function divergeExpB(fx: FixtureCopy): string {
  const tree = fx.git(["rev-parse", `${EXP_A_B1}^{tree}`]).trim();
  const commit = fx.git(["commit-tree", tree, "-p", B1, "-m", "exp-b re-run"]).trim();
  fx.git(["update-ref", EXP_B, commit]);
  return commit;
}

/** refs/exps lines without the executor's refs (the goldens' setup ran `dvc exp run` on B1). */
function expLines(text: string | undefined, replace?: [string, string]): string[] {
  return sectionLines(text)
    .filter((line) => !line.includes("refs/exps/exec/"))
    .map((line) => (replace ? line.replace(replace[0], replace[1]) : line));
}

Deno.test("dxp exp pull of a diverged experiment keeps the local one unless -f (basic/exp-pull_diverged, exp-pull_diverged_force)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const local = divergeExpB(fx);
    const golden = readGolden("basic", "exp-pull_diverged");
    const result = fx.dxp(["exp", "pull", "origin", "exp-b"]);
    // The exit code of a diverged pull is the README's exit-code table's to say
    // (DVC exits 0); it is asserted in e2e_exp_pull_test.ts, not here.
    assert.equal(result.stdout, golden.stdout);
    // DVC names the experiment as a Python list repr; dxp plainly.
    assert.deepEqual(normalizeExpText(result.stderr), normalizeExpText(golden.stderr));
    // DVC's local exp-b is its own re-run (e4da756…), ours `local`.
    assert.deepEqual(
      expLines(expRefLines(fx)),
      expLines(golden.sections.get("after: git for-each-ref refs/exps"), [
        "e4da756a5ebade7ea5ee2a8191964afe389eb6c1",
        local,
      ]),
    );

    const forcedGolden = readGolden("basic", "exp-pull_diverged_force");
    const forced = fx.dxp(["exp", "pull", "-f", "origin", "exp-b"]);
    assert.equal(forced.code, forcedGolden.exitCode, forced.stderr);
    // Deliberate difference: a forced pull that changed the ref says so (DVC: "No experiments to pull.").
    assert.equal(forcedGolden.stdout, "No experiments to pull.\n");
    assert.equal(forced.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    assert.equal(forced.stderr, forcedGolden.stderr);
    const key = [...forcedGolden.sections.keys()].find((k) =>
      k.startsWith("after: git for-each-ref refs/exps")
    )!;
    assert.deepEqual(expLines(expRefLines(fx)), expLines(forcedGolden.sections.get(key)));
    fx.git(["fsck", "--full"]);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push -f replaces a diverged remote experiment with its data (basic/exp-push_diverged_force)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const local = divergeExpB(fx);
    const golden = readGolden("basic", "exp-push_diverged_force");
    let result!: RunResult;
    const objects = added(
      join(fx.root, "dvcstore"),
      () => result = fx.dxp(["exp", "push", "-f", "origin", "exp-b"]),
    );
    assertExact(result, golden, "exp-push_diverged_force");
    assert.deepEqual(
      sectionLines(fx.git(["ls-remote", "../origin.git"])),
      sectionLines(golden.sections.get("after: git ls-remote ../origin.git")).map((line) =>
        line.replace("3a8c4cc75d170e298e59bfab6dd65640d33b4ba3", local)
      ),
    );
    // Our exp-b carries exp-a's data of baseline 1: the 12 objects that push added.
    assert.deepEqual(
      objects,
      sectionLines(
        readGolden("basic", "exp-push_full-ref_exp-a-baseline1").sections.get(
          "after: objects added to ../dvcstore",
        ),
      ),
    );
    fx.git(["fsck", "--full"], join(fx.root, "origin.git"));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull in a fresh clone: full ref of the auto-named experiment, then no names (basic goldens)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const full = readGolden("basic", "exp-pull_full-ref_auto_fresh-clone");
    const r1 = fx.dxp(["exp", "pull", "origin", TYPED_GULF], clone);
    assert.equal(r1.code, full.exitCode, r1.stderr);
    assert.deepEqual(normalizeExpText(r1.stdout), normalizeExpText(full.stdout));
    // Deliberate difference: DVC warns that local_only.txt (push: false) is missing; dxp does not.
    assert.match(full.stderr, /^WARNING: Some of the cache files do not exist/);
    assert.equal(r1.stderr, "");
    assert.equal(expRefLines(fx, clone), full.sections.get("after: git for-each-ref refs/exps"));
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sectionLines(full.sections.get("after: files in .dvc/cache (mode path)")),
    );
  } finally {
    await fx.cleanup();
  }
  const fx2 = await fixtureCopy("basic");
  try {
    const clone = fx2.freshClone();
    const first = fx2.dxp(["exp", "pull", "origin", "exp-b"], clone);
    assert.equal(first.code, 0, first.stderr);
    const golden = readGolden("basic", "exp-pull_no-names_fresh-clone");
    let result!: RunResult;
    const objects = added(
      join(clone, ".dvc", "cache"),
      () => result = fx2.dxp(["exp", "pull", "origin"], clone),
    );
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.deepEqual(normalizeExpText(result.stdout), normalizeExpText(golden.stdout));
    assert.equal(result.stderr, "");
    assert.equal(expRefLines(fx2, clone), golden.sections.get("after: git for-each-ref refs/exps"));
    assert.deepEqual(
      objects,
      sectionLines(golden.sections.get("after: files added to .dvc/cache")),
    );
  } finally {
    await fx2.cleanup();
  }
});

Deno.test("dxp exp pull in a fresh clone without config.local reads the committed remote correctly (basic/exp-pull_exp-b_fresh-clone_WITHOUT-config-local)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    rmSync(join(clone, ".dvc", "config.local"));
    const golden = readGolden("basic", "exp-pull_exp-b_fresh-clone_WITHOUT-config-local");
    const result = fx.dxp(["exp", "pull", "origin", "exp-b"], clone);
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.deepEqual(normalizeExpText(result.stdout), normalizeExpText(golden.stdout));
    assert.equal(expRefLines(fx, clone), golden.sections.get("after: git for-each-ref refs/exps"));
    // Deliberate difference: DVC looked in /dvcstore, found nothing and warned; dxp resolves
    // '../../dvcstore' against .dvc/ and fills the cache exactly as with config.local.
    assert.equal(golden.sections.get("after: files in .dvc/cache"), "(no folder .dvc/cache)\n");
    assert.equal(result.stderr, "");
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sectionLines(
        readGolden("basic", "exp-pull_exp-b_fresh-clone").sections.get(
          "after: files in .dvc/cache (mode path)",
        ),
      ),
    );
    assert.equal(existsSync("/dvcstore"), false);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull and exp remove -g stop on a name that is ambiguous on the remote (basic goldens)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // The goldens' setup: a third baseline (neither exp-a's), both exp-a pushed by full ref.
    fx.git(["commit", "--allow-empty", "-q", "-m", "baseline 3 (empty)"]);
    const pushed = fx.dxp(["exp", "push", "origin", EXP_A_B1, EXP_A_B2]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const remoteBefore = fx.git(["ls-remote", "../origin.git"]);
    const localBefore = expRefLines(fx);
    for (
      const [name, argv] of [
        ["exp-pull_exp-a_ambiguous", ["exp", "pull", "origin", "exp-a"]],
        ["exp-remove_g_exp-a_ambiguous", ["exp", "remove", "-g", "origin", "exp-a"]],
      ] as const
    ) {
      const golden = readGolden("basic", name);
      const result = fx.dxp([...argv]);
      assert.equal(result.code, golden.exitCode, name);
      assert.equal(result.stdout, golden.stdout, name);
      // The candidates come in Python-set order in DVC.
      assert.deepEqual(sortedLines(result.stderr), sortedLines(golden.stderr), name);
      assert.equal(fx.git(["ls-remote", "../origin.git"]), remoteBefore, name);
      assert.equal(expRefLines(fx), localBefore, name);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push and exp pull of the legacy fixture a second time: up to date, nothing to pull", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const first = fx.dxp(["exp", "push", "origin", "exp-y"]);
    assertExact(first, readGolden("legacy", "exp-push_exp-y"), "exp-push_exp-y");
    const again = readGolden("legacy", "exp-push_full-ref_exp-y_again");
    const store = join(fx.root, "dvcstore");
    let result!: RunResult;
    const objects = added(store, () =>
      result = fx.dxp([
        "exp",
        "push",
        "origin",
        "refs/exps/2c/75b87a394130bda44c3a4ea60a37e3a80d5324/exp-y",
      ]));
    assertExact(result, again, "exp-push_full-ref_exp-y_again");
    assert.deepEqual(objects, []);

    const clone = fx.freshClone();
    const pulled = fx.dxp(["exp", "pull", "origin", "exp-x"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    const cache = join(clone, ".dvc", "cache");
    const pullAgain = readGolden("legacy", "exp-pull_exp-x_again");
    const fetched = added(cache, () => result = fx.dxp(["exp", "pull", "origin", "exp-x"], clone));
    assertExact(result, pullAgain, "exp-pull_exp-x_again");
    assert.deepEqual(fetched, []);
  } finally {
    await fx.cleanup();
  }
});

/** The object paths and DVC's own output lines of an `objects-*` golden. */
function objectsGolden(fixture: FixtureName, name: string) {
  const text = readFileSync(
    new URL(`./fixtures/golden/${fixture}/${name}.txt`, import.meta.url),
    "utf8",
  );
  const lines = text.split("\n");
  return {
    ref: /^# fixture: \w+, experiment ref: (\S+)$/m.exec(text)![1]!,
    output: lines.filter((l) => l.startsWith("# dvc output: ")).map((l) => l.slice(14) + "\n")
      .join(""),
    objects: lines.filter((l) => l !== "" && !l.startsWith("#")),
  };
}

const objectGoldens: [FixtureName, string][] = [
  ["basic", "objects-exp-a-baseline1"],
  ["basic", "objects-exp-b"],
  ["basic", "objects-auto"],
  ["legacy", "objects-exp-x"],
  ["legacy", "objects-exp-y"],
];

for (const [fixture, name] of objectGoldens) {
  Deno.test(`dxp exp push of one experiment into an empty DVC remote uploads exactly DVC's objects (${fixture}/${name})`, async () => {
    const fx = await fixtureCopy(fixture);
    try {
      const golden = objectsGolden(fixture, name);
      const empty = join(fx.root, "emptystore");
      mkdirSync(empty);
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        "['remote \"store\"']\n    url = ../../emptystore\n",
      );
      const result = fx.dxp(["exp", "push", "origin", golden.ref]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, golden.output);
      assert.deepEqual(listFiles(empty), golden.objects);
      for (const line of listFiles(empty, true)) assert.match(line, /^444 /, line);
    } finally {
      await fx.cleanup();
    }
  });
}
