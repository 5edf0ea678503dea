/**
 * `exp remove` on the binary against real DVC's goldens: local removal by
 * name, `-A`, `--rev`/`-n` and `--keep` (DVC's `--keep` removes the
 * experiments of every other baseline too, fixtures README §9.4 item 4), and
 * `-g` on the Git remote, always checked on the refs themselves: local refs
 * with `git for-each-ref`, the remote's with `git ls-remote`, and the DVC
 * remotes left as they were.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import { assertExpMessages, expRefLines, normalizeExpText } from "./helpers/exp_goldens.ts";

const B1 = "59cd22220db6b081790dd907a87d270cc16022c1";
const B3 = "c6d34a0a096dcc0e6afaa76344ef97315066a991";

/** `<remote> <count>` lines, as the goldens' "file counts" section. */
function dvcCounts(fx: FixtureCopy, remotes: readonly string[]): string {
  return remotes.map((r) => `${r} ${listFiles(join(fx.root, r)).length}\n`).join("");
}

const localCases: { golden: string; argv: string[] }[] = [
  { golden: "exp-remove_A", argv: ["exp", "remove", "-A"] },
  { golden: "exp-remove_exp-1_exp-2", argv: ["exp", "remove", "exp-1", "exp-2"] },
  { golden: "exp-remove_keep_exp-3", argv: ["exp", "remove", "--keep", "exp-3"] },
  { golden: "exp-remove_rev-B3", argv: ["exp", "remove", "--rev", B3] },
  { golden: "exp-remove_rev-B3_n2", argv: ["exp", "remove", "--rev", B3, "-n", "2"] },
];

for (const { golden: name, argv } of localCases) {
  Deno.test(`dxp ${argv.join(" ")} removes the local refs DVC removed (remotes/${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const golden = readGolden("remotes", name);
      assert.equal(argv.join(" "), golden.command.replace(/^dvc /, ""));
      const remoteBefore = fx.git(["ls-remote", "origin"]);
      const countsBefore = dvcCounts(fx, ["store", "other", "third"]);
      const result = fx.dxp(argv);
      assertExpMessages(result, golden, name);
      assert.equal(expRefLines(fx), golden.sections.get("after: git for-each-ref refs/exps"));
      assert.equal(fx.git(["ls-remote", "origin"]), remoteBefore);
      assert.equal(dvcCounts(fx, ["store", "other", "third"]), countsBefore);
      fx.git(["fsck", "--full"]);
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp exp remove --keep with --rev or -A keeps that selection; -n alone is a usage error", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const names = () =>
      fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"]).split("\n").filter(Boolean);
    // Keep -A: nothing is removed.
    const all = fx.dxp(["exp", "remove", "--keep", "-A"]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "No experiments to remove.\n");
    assert.equal(names().length, 5);
    // Keep B3 and B2 (-n 2): only exp-1 (B1) goes.
    const kept = fx.dxp(["exp", "remove", "--keep", "--rev", B3, "-n", "2"]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout, "Removed experiments: 'exp-1'\n");
    assert.deepEqual(names().map((ref) => ref.split("/").pop()), [
      "exp-2",
      "exp-3",
      "exp-4",
      "EXEC_HEAD",
    ]);
    const usage = fx.dxp(["exp", "remove", "-n", "2"]);
    assert.equal(usage.code, 255);
    assert.equal(
      usage.stderr,
      "ERROR: Either provide an `experiment` argument, or use the `--rev` or `--all-commits` or `--queue` flag.\n",
    );
    assert.equal(names().length, 4);
  } finally {
    await fx.cleanup();
  }
});

const remoteCases: { golden: string; argv: string[] }[] = [
  { golden: "exp-remove_g_A", argv: ["exp", "remove", "-g", "origin", "-A"] },
  { golden: "exp-remove_g_exp-3_exp-4", argv: ["exp", "remove", "-g", "origin", "exp-3", "exp-4"] },
  { golden: "exp-remove_g_rev-B1", argv: ["exp", "remove", "-g", "origin", "--rev", B1] },
];

for (const { golden: name, argv } of remoteCases) {
  Deno.test(`dxp ${argv.join(" ")} removes the remote refs DVC removed (remotes/${name})`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      const pushed = fx.dxp(["exp", "push", "origin", "-A"]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const golden = readGolden("remotes", name);
      assert.equal(argv.join(" "), golden.command.replace(/^dvc /, ""));
      const result = fx.dxp(argv);
      assertExpMessages(result, golden, name);
      assert.equal(
        fx.git(["ls-remote", "origin", "refs/exps/*"]),
        golden.sections.get("after: git ls-remote origin 'refs/exps/*'"),
      );
      assert.equal(
        expRefLines(fx),
        golden.sections.get("after: git for-each-ref refs/exps (local refs)"),
      );
      assert.equal(
        dvcCounts(fx, ["store", "other", "third"]),
        golden.sections.get(
          "after: file counts in ../store ../other ../third (nothing deleted)",
        ),
      );
      fx.git(["fsck", "--full"], join(fx.root, "origin.git"));
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp exp remove -g origin --keep removes every other experiment on the remote, in one request", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const pushed = fx.dxp(["exp", "push", "origin", "-A"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const localBefore = expRefLines(fx);
    const result = fx.dxp(["exp", "remove", "-g", "origin", "--keep", "exp-3"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(normalizeExpText(result.stdout), [
      "Removed experiments: [exp-1 exp-2 exp-4]",
    ]);
    assert.equal(
      fx.git(["ls-remote", "origin", "refs/exps/*"]),
      `d05afa88a4ab918def2d0c7578e784a9416bd109\trefs/exps/c6/${B3.slice(2)}/exp-3\n`,
    );
    assert.equal(expRefLines(fx), localBefore);
    // -n 2 from HEAD on the remote: exp-3 (B3); B2's exp-2 is gone already.
    const rest = fx.dxp(["exp", "remove", "-g", "origin", "--rev", B3, "-n", "2"]);
    assert.equal(rest.stdout, "Removed experiments: 'exp-3'\n");
    assert.equal(fx.git(["ls-remote", "origin", "refs/exps/*"]), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp remove -g matches the basic goldens, checked with git ls-remote", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const lsRemote = () => fx.git(["ls-remote", "../origin.git"]);
    const untouched = expRefLines(fx);
    const removeB = readGolden("basic", "exp-remove_g_exp-b");
    const r1 = fx.dxp(["exp", "remove", "-g", "origin", "exp-b"]);
    assertExpMessages(r1, removeB, "exp-remove_g_exp-b");
    assert.equal(lsRemote(), removeB.sections.get("after: git ls-remote ../origin.git"));
    assert.equal(
      expRefLines(fx),
      removeB.sections.get("after: git for-each-ref refs/exps (local refs untouched)"),
    );
    assert.equal(
      `${listFiles(join(fx.root, "dvcstore")).length}\n`,
      removeB.sections.get("after: files in ../dvcstore: count (nothing deleted)"),
    );
    const again = readGolden("basic", "exp-remove_g_exp-b_again");
    const r2 = fx.dxp(["exp", "remove", "-g", "origin", "exp-b"]);
    assertExpMessages(r2, again, "exp-remove_g_exp-b_again");
    assert.equal(lsRemote(), removeB.sections.get("after: git ls-remote ../origin.git"));
    const unknown = readGolden("basic", "exp-remove_g_does-not-exist");
    assertExpMessages(
      fx.dxp(["exp", "remove", "-g", "origin", "does-not-exist"]),
      unknown,
      "exp-remove_g_does-not-exist",
    );
    const full = readGolden("basic", "exp-remove_g_full-ref_auto");
    const r3 = fx.dxp([
      "exp",
      "remove",
      "-g",
      "origin",
      "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/typed-gulf",
    ]);
    assertExpMessages(r3, full, "exp-remove_g_full-ref_auto");
    assert.equal(lsRemote(), full.sections.get("after: git ls-remote ../origin.git"));
    assert.equal(expRefLines(fx), untouched);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp remove -g origin exp-x matches the legacy golden (remote ref gone, local refs kept)", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const golden = readGolden("legacy", "exp-remove_g_exp-x");
    const result = fx.dxp(["exp", "remove", "-g", "origin", "exp-x"]);
    assertExpMessages(result, golden, "exp-remove_g_exp-x");
    assert.equal(
      fx.git(["ls-remote", "../origin.git"]),
      golden.sections.get("after: git ls-remote ../origin.git"),
    );
    assert.equal(
      expRefLines(fx),
      golden.sections.get("after: git for-each-ref refs/exps (local refs untouched)"),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp remove of a full ref that does not exist fails and removes nothing, locally and with -g", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const nope = `refs/exps/c6/${B3.slice(2)}/nope`;
    const before = expRefLines(fx);
    const local = fx.dxp(["exp", "remove", "exp-3", nope]);
    assert.equal(local.code, 255);
    assert.equal(local.stdout, "");
    assert.equal(local.stderr, `ERROR: '${nope}' is not a valid experiment name\n`);
    assert.equal(expRefLines(fx), before);

    assert.equal(fx.dxp(["exp", "push", "origin", "exp-3"]).code, 0);
    const remote = fx.dxp(["exp", "remove", "-g", "origin", "exp-3", nope]);
    assert.equal(remote.code, 255);
    assert.equal(remote.stderr, `ERROR: Experiment '${nope}' does not exist in 'origin'\n`);
    assert.match(fx.git(["ls-remote", "origin", "refs/exps/*"]), /\/exp-3\n$/);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp remove --rev -n removes same-named experiments of every selected baseline", async () => {
  // basic: exp-a exists on B1 and on B2 (= main). DVC keys this selection by name and
  // silently keeps one of the two; dxp removes what was selected.
  const fx = await fixtureCopy("basic");
  try {
    const result = fx.dxp(["exp", "remove", "--rev", "main", "-n", "2"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(normalizeExpText(result.stdout), [
      "Removed experiments: [exp-a exp-a exp-b typed-gulf]",
    ]);
    assert.equal(
      fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"]),
      "refs/exps/exec/EXEC_HEAD\n",
    );
  } finally {
    await fx.cleanup();
  }
});
