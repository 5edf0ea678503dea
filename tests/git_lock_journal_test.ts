/**
 * Ref locks left by a killed dxp: the journal each ref transaction keeps
 * lets the next one remove exactly those, and nothing git or a live
 * process holds.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { LockError } from "../lib/errors/mod.ts";
import { updateRef } from "../lib/git/ref_write.ts";
import { updateShallow } from "../lib/git/shallow.ts";
import { writeGitIndex } from "../lib/engine/workspace/git_index.ts";
import { ZERO_OID } from "../lib/git/transport/types.ts";
import { expRef, forEachRef, withTwoCommits } from "./helpers/git_repo.ts";

/** The pid of a process that has exited. */
function deadPid(): number {
  const pid = spawnSync("true").pid;
  assert.ok(pid !== undefined && pid > 0);
  return pid;
}

/** What a dxp killed inside a ref transaction leaves: its journal and the lock it made. */
function leftover(gitdir: string, pid: number, ref: string, content: string, journaled = content) {
  const lock = join(gitdir, `${ref}.lock`);
  mkdirSync(dirname(lock), { recursive: true });
  writeFileSync(lock, content);
  const md5 = createHash("md5").update(journaled).digest("hex");
  const journal = join(gitdir, `dxp-locks-${pid}`);
  writeFileSync(journal, `${md5} ${ref}.lock\n`);
  return { lock, journal };
}

const journals = (gitdir: string) => readdirSync(gitdir).filter((n) => n.startsWith("dxp-locks-"));

Deno.test("a ref transaction leaves no journal behind, and none while it failed", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = expRef(a, "exp-1");
    await updateRef(gitdir, ref, b, ZERO_OID);
    assert.deepEqual(journals(gitdir), []);
    await assert.rejects(updateRef(gitdir, ref, a, ZERO_OID)); // stale: it exists
    assert.deepEqual(journals(gitdir), []);
    await updateRef(gitdir, ref, ZERO_OID, b);
    assert.deepEqual(journals(gitdir), []);
  });
});

Deno.test("the lock a killed dxp left is removed by the next transaction, which then succeeds", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = expRef(a, "exp-1");
    const { lock, journal } = leftover(gitdir, deadPid(), ref, `${b}\n`);
    await updateRef(gitdir, ref, b, ZERO_OID);
    assert.equal(forEachRef(gitdir, "refs/exps").get(ref), b);
    assert.equal(existsSync(lock), false);
    assert.equal(existsSync(journal), false);
  });
});

Deno.test("a ref lock a killed dxp left empty (killed between making and filling it) is removed too", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = expRef(a, "exp-1");
    const pid = deadPid();
    const lock = join(gitdir, `${ref}.lock`);
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, "");
    // What takeLock journals: the empty lock and the filled one.
    const line = (content: string) =>
      `${createHash("md5").update(content).digest("hex")} ${ref}.lock`;
    writeFileSync(join(gitdir, `dxp-locks-${pid}`), `${line("")}\n${line(`${b}\n`)}\n`);
    await updateRef(gitdir, ref, b, ZERO_OID);
    assert.equal(forEachRef(gitdir, "refs/exps").get(ref), b);
    assert.equal(existsSync(lock), false);
  });
});

Deno.test("a lock whose content is not what the dead process journaled stays, and so does git's message", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = expRef(a, "exp-1");
    const { lock } = leftover(gitdir, deadPid(), ref, `${a}\n`, `${b}\n`);
    await assert.rejects(
      updateRef(gitdir, ref, b, ZERO_OID),
      (e: unknown) =>
        e instanceof LockError && /another Git process may be running/.test(e.message),
    );
    assert.equal(readFileSync(lock, "utf8"), `${a}\n`, "someone else's lock is untouched");
  });
});

Deno.test("a lock journaled by a live process stays", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const alive = spawn("sleep", ["30"]);
    try {
      const ref = expRef(a, "exp-1");
      const { lock, journal } = leftover(gitdir, alive.pid!, ref, `${b}\n`);
      await assert.rejects(updateRef(gitdir, ref, b, ZERO_OID), LockError);
      assert.equal(existsSync(lock), true);
      assert.equal(existsSync(journal), true);
    } finally {
      alive.kill();
    }
  });
});

Deno.test("a lock with no journal (git's own, or an older dxp's) stays", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = expRef(a, "exp-1");
    const lock = join(gitdir, `${ref}.lock`);
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, `${b}\n`);
    await assert.rejects(updateRef(gitdir, ref, b, ZERO_OID), LockError);
    assert.equal(existsSync(lock), true);
  });
});

Deno.test("a dead journal naming a file outside the git dir or not a lock touches nothing", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const outside = join(dirname(gitdir), "victim.lock");
    writeFileSync(outside, "x");
    const config = join(gitdir, "config");
    const md5 = (s: string | Uint8Array) => createHash("md5").update(s).digest("hex");
    writeFileSync(
      join(gitdir, `dxp-locks-${deadPid()}`),
      `${md5("x")} ../victim.lock\n${md5(readFileSync(config))} config\n`,
    );
    await updateRef(gitdir, expRef(a, "exp-1"), b, ZERO_OID);
    assert.equal(existsSync(outside), true);
    assert.equal(existsSync(config), true);
    assert.deepEqual(journals(gitdir), [], "the dead journal itself is gone");
  });
});

Deno.test("an empty index.lock or shallow.lock a killed dxp left is cleared; one with other bytes stays", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    // Killed right after creating the lock (empty), as both writers make it before filling it.
    const pid = deadPid();
    const empty = createHash("md5").update("").digest("hex");
    writeFileSync(join(gitdir, "index.lock"), "");
    writeFileSync(join(gitdir, "shallow.lock"), "");
    writeFileSync(
      join(gitdir, `dxp-locks-${pid}`),
      `${empty} index.lock\n${empty} shallow.lock\n`,
    );
    await writeGitIndex(gitdir, []);
    assert.equal(existsSync(join(gitdir, "index.lock")), false);
    assert.equal(existsSync(join(gitdir, "shallow.lock")), false, "every dead lock goes at once");
    assert.deepEqual(journals(gitdir), []);
    assert.deepEqual([...await updateShallow(gitdir, { add: [a] })], [a]);
    assert.deepEqual(journals(gitdir), [], "no journal left by a transaction that ended");

    // Git's own lock (no journal), with bytes: refused as before.
    writeFileSync(join(gitdir, "shallow.lock"), `${b}\n`);
    await assert.rejects(updateShallow(gitdir, { add: [b] }), LockError);
    assert.equal(readFileSync(join(gitdir, "shallow.lock"), "utf8"), `${b}\n`);
  });
});
