import assert from "node:assert/strict";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import { git } from "./helpers/tmp.ts";

const EXP_B = "1f9cc1479cd534fb1c92727d455a9202197ef021";
const EXP_A_B2 = "3fb57963e586fb005a7fcbc7cf7ca4831bdff876";

Deno.test("dxp exp branch makes '<exp>-branch' at the experiment commit and leaves HEAD and the workspace alone", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const result = fx.dxp(["exp", "branch", "exp-b"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      "Git branch 'exp-b-branch' has been created from experiment 'exp-b'.\nTo switch to the new branch run:\n\n\tgit checkout exp-b-branch\n",
    );
    assert.equal(fx.git(["rev-parse", "refs/heads/exp-b-branch"]).trim(), EXP_B);
    assert.equal(fx.git(["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    assert.equal(fx.git(["status", "--short"]), "");
    assert.match(
      fx.git(["reflog", "show", "exp-b-branch"]),
      /dvc: Created from experiment 'exp-b'/,
    );
    const named = fx.dxp([
      "exp",
      "branch",
      "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a",
      "lr-02",
    ]);
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, /^Git branch 'lr-02' has been created from experiment 'exp-a'\./);
    assert.equal(fx.git(["rev-parse", "lr-02"]).trim(), EXP_A_B2);
    fx.git(["fsck", "--full"]);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp branch refuses an existing branch, an unknown name and a commit that is no experiment", async () => {
  const fx = await fixtureCopy("basic");
  try {
    assert.equal(fx.dxp(["exp", "branch", "exp-b"]).code, 0);
    const again = fx.dxp(["exp", "branch", "exp-b"]);
    assert.equal(again.code, 255);
    assert.equal(again.stderr, "ERROR: Git branch 'exp-b-branch' already exists.\n");
    const existing = fx.dxp(["exp", "branch", "exp-b", "main"]);
    assert.equal(existing.stderr, "ERROR: Git branch 'main' already exists.\n");
    const unknown = fx.dxp(["exp", "branch", "nope"]);
    assert.equal(unknown.code, 255);
    assert.equal(unknown.stderr, "ERROR: nope: unknown Git revision 'nope'\n");
    const plain = fx.dxp(["exp", "branch", "main"]);
    assert.equal(plain.code, 255);
    assert.equal(plain.stderr, "ERROR: 'main' does not appear to be an experiment commit.\n");
    assert.equal(fx.git(["rev-parse", "main"]).trim(), "c8eada1176f7ecc6d6b39885e2ca39834e41eee8");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp branch resolves a name on two baselines by HEAD, and says it is ambiguous otherwise", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const onHead = fx.dxp(["exp", "branch", "exp-a"]);
    assert.equal(onHead.code, 0, onHead.stderr);
    assert.equal(fx.git(["rev-parse", "exp-a-branch"]).trim(), EXP_A_B2);
    git(["commit", "-q", "--allow-empty", "-m", "baseline 3 (empty)"], fx.repo, fx.env);
    const ambiguous = fx.dxp(["exp", "branch", "exp-a", "other"]);
    assert.equal(ambiguous.code, 255);
    assert.equal(ambiguous.stderr, "ERROR: exp-a: ambiguous Git revision 'exp-a'\n");
    assert.equal(fx.git(["branch", "--list", "other"]), "");
  } finally {
    await fx.cleanup();
  }
});
