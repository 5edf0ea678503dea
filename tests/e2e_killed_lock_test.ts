/**
 * A dxp killed at the worst moment of a ref update — `<ref>.lock` made,
 * not yet filled nor renamed — must not block the ref for good: the next
 * run completes. strace delivers the SIGKILL at the first write to the
 * lock, exactly there.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  buildScaleRepo,
  cloneScaleRepo,
  gitEnv,
  removeScaleDir,
  scaleScratchDir,
  setLocalRemote,
} from "./helpers/scale_repo.ts";
import { dxp, DXP_BIN, run } from "./helpers/tmp.ts";

Deno.test("exp pull killed between making and filling the ref's lock: the rerun completes", () => {
  if (run("sh", ["-c", "command -v strace"]).code !== 0) {
    console.warn("skipped: strace is not installed");
    return;
  }
  const dir = scaleScratchDir("dxp-killed-lock-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), 3);
    const remote = join(dir, "remote");
    setLocalRemote(s.repo, remote);
    const push = dxp(["exp", "push", "origin", s.exp], { cwd: s.repo });
    assert.equal(push.code, 0, push.stderr);
    const clone = cloneScaleRepo(s, join(dir, "clone"), remote);
    const lock = join(clone, ".git", `${s.ref}.lock`);

    const killed = run("strace", [
      "-f",
      "-qq",
      "-o",
      "/dev/null",
      "-P",
      lock,
      "-e",
      "trace=write,pwrite64,writev,pwritev,pwritev2",
      "-e",
      "inject=write,pwrite64,writev,pwritev,pwritev2:signal=KILL",
      DXP_BIN,
      "exp",
      "pull",
      "origin",
      s.exp,
    ], { cwd: clone });
    assert.notEqual(killed.code, 0, "killed at the lock's first write");
    assert.ok(existsSync(lock), "the lock was left behind, as a kill there leaves it");
    assert.equal(
      run("git", ["for-each-ref", "refs/exps"], { cwd: clone, env: gitEnv() }).stdout,
      "",
      "no ref written",
    );

    const rerun = dxp(["exp", "pull", "origin", s.exp], { cwd: clone });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(existsSync(lock), false, "the dead run's lock is gone");
    const refs = run("git", ["for-each-ref", "--format=%(refname)", "refs/exps"], {
      cwd: clone,
      env: gitEnv(),
    }).stdout;
    assert.equal(refs, `${s.ref}\n`);
    assert.deepEqual(
      readdirSync(join(clone, ".git")).filter((n) => n.startsWith("dxp-locks-")),
      [],
      "no journal left",
    );
  } finally {
    removeScaleDir(dir);
  }
});
