import assert from "node:assert/strict";
import { chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy, listFiles, sectionLines } from "./helpers/fixture_repo.ts";
import { readGolden, sortedLines } from "./helpers/golden.ts";

const B1 = "21f7f42d14aa43c823f2eb809f36b2453ef5d73b";
const EXP_A_B1 = `refs/exps/21/${B1.slice(2)}/exp-a`;

Deno.test("dxp exp push uploads exactly DVC's objects and pushes the ref (basic, exp-a on HEAD's baseline)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const store = join(fx.root, "dvcstore");
    const before = new Set(listFiles(store));
    const golden = readGolden("basic", "exp-push_exp-a_head-is-baseline2");
    const result = fx.dxp(["exp", "push", "origin", "exp-a"]);
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.equal(result.stderr, golden.stderr);
    const added = listFiles(store).filter((f) => !before.has(f));
    assert.deepEqual(
      added,
      sortedLines(golden.sections.get("after: objects added to ../dvcstore") ?? ""),
    );
    assert.deepEqual(
      sortedLines(fx.git(["ls-remote", "../origin.git"])),
      sortedLines(golden.sections.get("after: git ls-remote ../origin.git") ?? ""),
    );
    for (const file of added) {
      assert.equal(
        listFiles(store, true).find((l) => l.endsWith(` ${file}`))?.split(" ")[0],
        "444",
        file,
      );
    }
    fx.git(["fsck", "--full"], join(fx.root, "origin.git"));
    // Again: everything is there now.
    const again = fx.dxp(["exp", "push", "origin", "exp-a"]);
    assert.equal(again.stdout, "Experiment exp-a is up to date on Git remote 'origin'.\n");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push fails before any transfer on unknown or ambiguous names, with DVC's messages", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const unknown = readGolden("basic", "exp-push_two-unknown-names");
    const r1 = fx.dxp(["exp", "push", "origin", "nope-1", "nope-2"]);
    assert.equal(r1.code, unknown.exitCode);
    assert.equal(r1.stderr, unknown.stderr);
    const one = readGolden("basic", "exp-push_does-not-exist");
    const r2 = fx.dxp(["exp", "push", "origin", "does-not-exist"]);
    assert.equal(r2.stderr, one.stderr);
    fx.git(["commit", "--allow-empty", "-q", "-m", "baseline 3 (empty)"]);
    const ambiguous = readGolden("basic", "exp-push_exp-a_ambiguous");
    const r3 = fx.dxp(["exp", "push", "origin", "exp-a"]);
    assert.equal(r3.code, 255);
    assert.deepEqual(sortedLines(r3.stderr), sortedLines(ambiguous.stderr));
    assert.deepEqual(
      sortedLines(fx.git(["ls-remote", "../origin.git"])),
      sortedLines(ambiguous.sections.get("after: git ls-remote ../origin.git") ?? ""),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push -A tells same-named experiments apart and pushes all in one go", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const result = fx.dxp(["exp", "push", "-A", "origin"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      "Experiment exp-b and typed-gulf are up to date on Git remote 'origin'.\n" +
        "Pushed experiment exp-a (21f7f42) and exp-a (c8eada1) to Git remote 'origin'.\n" +
        "15 files uploaded\n",
    );
    const golden = readGolden("basic", "exp-push_A");
    assert.match(golden.stdout, /15 files uploaded/);
    assert.equal(
      fx.git(["for-each-ref", "refs/exps"], join(fx.root, "origin.git")).split("\n").filter(Boolean)
        .length,
      4,
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push --no-cache pushes only the ref and prints the hint with its space", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const store = join(fx.root, "dvcstore");
    const before = listFiles(store);
    const result = fx.dxp(["exp", "push", "--no-cache", "origin", EXP_A_B1]);
    assert.equal(result.code, 0);
    assert.equal(
      result.stdout,
      "Pushed experiment exp-a to Git remote 'origin'.\n" +
        "To push cached outputs for this experiment to DVC remote storage, re-run this command without '--no-cache'.\n",
    );
    assert.deepEqual(listFiles(store), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push reports a diverged experiment, moves nothing for it, exits 1; -f replaces it", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // A local exp-b that is not a descendant of origin's exp-b.
    const tree = fx.git(["rev-parse", `${B1}^{tree}`]).trim();
    const other = fx.git(["commit-tree", tree, "-p", B1, "-m", "another exp-b"]).trim();
    const ref = `refs/exps/21/${B1.slice(2)}/exp-b`;
    const remoteBefore = fx.git(["rev-parse", ref], join(fx.root, "origin.git")).trim();
    fx.git(["update-ref", ref, other]);
    const store = join(fx.root, "dvcstore");
    const storeBefore = listFiles(store);
    const result = fx.dxp(["exp", "push", "origin", "exp-b"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "No experiments to push.\n");
    assert.equal(result.stderr, readGolden("basic", "exp-push_diverged").stderr);
    assert.equal(fx.git(["rev-parse", ref], join(fx.root, "origin.git")).trim(), remoteBefore);
    assert.deepEqual(listFiles(store), storeBefore);
    const forced = fx.dxp(["exp", "push", "-f", "origin", "exp-b"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, "Pushed experiment exp-b to Git remote 'origin'.\n");
    assert.equal(fx.git(["rev-parse", ref], join(fx.root, "origin.git")).trim(), other);
    fx.git(["fsck", "--full"], join(fx.root, "origin.git"));
  } finally {
    await fx.cleanup();
  }
});

/**
 * Removes from the local cache of the basic fixture's `repo` one object of
 * exp-a (baseline 2) that the DVC remote lacks (and no other experiment has).
 */
function removeAnObjectOfExpA(repo: string): void {
  const added = readGolden("basic", "exp-push_exp-a_head-is-baseline2").sections.get(
    "after: objects added to ../dvcstore",
  );
  const victim = sectionLines(added).find((line) => !line.endsWith(".dir"))!;
  const cached = join(repo, ".dvc", "cache", victim);
  chmodSync(cached, 0o644);
  rmSync(cached);
}

Deno.test("dxp exp push does not push the ref of an experiment whose data is missing locally", async () => {
  const fx = await fixtureCopy("basic");
  try {
    removeAnObjectOfExpA(fx.repo);
    const result = fx.dxp(["exp", "push", "origin", "exp-a"]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^WARNING: Some of the cache files do not exist neither locally nor on remote\. Missing cache files:\nmd5: /,
    );
    assert.match(
      result.stderr,
      /Experiment exp-a was not pushed: some of its objects are missing from the local cache/,
    );
    // A rerun cannot bring back what the cache lost: no such advice.
    assert.doesNotMatch(result.stderr, /run the command again/);
    // The objects it has are uploaded (a rerun moves only what is still missing); the ref is not.
    assert.equal(result.stdout, "11 files uploaded\n");
    assert.doesNotMatch(
      fx.git(["ls-remote", "../origin.git"]),
      /refs\/exps\/c8\/eada1176f7ecc6d6b39885e2ca39834e41eee8\/exp-a/,
    );
    const allowed = fx.dxp(["exp", "push", "--allow-missing", "origin", "exp-a"]);
    assert.equal(allowed.code, 1);
    assert.match(
      fx.git(["ls-remote", "../origin.git"]),
      /refs\/exps\/c8\/eada1176f7ecc6d6b39885e2ca39834e41eee8\/exp-a/,
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push -A with one experiment's data missing sends a pack for the others only", async () => {
  const fx = await fixtureCopy("basic");
  try {
    removeAnObjectOfExpA(fx.repo); // of exp-a on baseline 2 (c8eada1) only
    const result = fx.dxp(["-v", "exp", "push", "-A", "origin"]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /Experiment exp-a \(c8eada1\) was not pushed: some of its objects are missing/,
    );
    assert.match(result.stdout, /Pushed experiment exp-a \(21f7f42\)/);
    const origin = join(fx.root, "origin.git");
    const refs = fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"], origin);
    assert.match(refs, /\/exp-a$/m);
    assert.doesNotMatch(refs, /c8\/eada1176f7ecc6d6b39885e2ca39834e41eee8\/exp-a/);
    // The pack built for both while the data moved was not sent: the remote
    // holds no object of the experiment left out (none unreachable).
    assert.match(result.stderr, /sending \d+ Git objects for 1 refs/);
    assert.equal(fx.git(["fsck", "--unreachable", "--no-reflogs", "--no-progress"], origin), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push of the legacy fixture writes legacy-layout objects as DVC does", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const store = join(fx.root, "dvcstore");
    const before = new Set(listFiles(store));
    const golden = readGolden("legacy", "exp-push_exp-y");
    const result = fx.dxp(["exp", "push", "origin", "exp-y"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    const added = listFiles(store).filter((f) => !before.has(f));
    const expectedKey = [...golden.sections.keys()].find((k) =>
      k.startsWith("after: objects added")
    );
    assert.ok(expectedKey, "golden lists the added objects");
    assert.deepEqual(added, sortedLines(golden.sections.get(expectedKey!) ?? ""));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push --dry-run says what would move and moves nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const store = join(fx.root, "dvcstore");
    const storeBefore = listFiles(store);
    const refsBefore = fx.git(["ls-remote", "../origin.git"]);
    const result = fx.dxp(["exp", "push", "--dry-run", "origin", "-A"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      "Experiment exp-b and typed-gulf are up to date on Git remote 'origin'.\n" +
        "Would push experiment exp-a (21f7f42) and exp-a (c8eada1) to Git remote 'origin'.\n",
    );
    assert.deepEqual(listFiles(store), storeBefore);
    assert.equal(fx.git(["ls-remote", "../origin.git"]), refsBefore);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp remove deletes local experiment refs only", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const remoteBefore = fx.git(["ls-remote", "../origin.git"]);
    const result = fx.dxp(["exp", "remove", "typed-gulf", EXP_A_B1]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `Removed experiments: 'typed-gulf' and '${EXP_A_B1}'\n`);
    const left = fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"]).split("\n").filter(
      Boolean,
    );
    assert.deepEqual(left.sort(), [
      "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b",
      "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a",
      "refs/exps/exec/EXEC_HEAD",
    ]);
    assert.equal(fx.git(["ls-remote", "../origin.git"]), remoteBefore);
    const missing = fx.dxp(["exp", "remove", "typed-gulf"]);
    assert.equal(missing.code, 255);
    assert.equal(missing.stderr, "ERROR: 'typed-gulf' is not a valid experiment name\n");
    const none = fx.dxp(["exp", "remove"]);
    assert.equal(
      none.stderr,
      "ERROR: Either provide an `experiment` argument, or use the `--rev` or `--all-commits` or `--queue` flag.\n",
    );
  } finally {
    await fx.cleanup();
  }
});
