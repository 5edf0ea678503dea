/**
 * childSettled(): a child's end is "close", or its exit plus a moment when a
 * pipe stays open, or — when no event comes at all — the process being gone.
 * Real processes; the silent one is an event emitter standing in for a child
 * whose events were lost (the fault being guarded against).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { childSettled } from "../lib/util/child_exit.ts";

Deno.test("childSettled() reports the exit code of a child that ends normally", async () => {
  const child = spawn("sh", ["-c", "exit 3"], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdout.resume();
  child.stderr.resume();
  assert.deepEqual(await childSettled(child), { code: 3, signal: null });
});

Deno.test("childSettled() does not wait for a background process holding the child's pipes", async () => {
  // The shell exits at once; its background sleep keeps stdout open, so "close" would wait for it.
  const child = spawn("sh", ["-c", "sleep 30 & echo $!; exit 0"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.resume();
  const exit = await childSettled(child);
  assert.deepEqual(exit, { code: 0, signal: null });
  const holder = Number(out.trim());
  // Settled while the holder still runs (and keeps the pipe open).
  assert.equal(spawnSync("kill", ["-0", String(holder)]).status, 0, "the holder still runs");
  spawnSync("kill", ["-KILL", String(holder)]);
});

Deno.test("childSettled() settles when the process is gone though no event ever came", async () => {
  const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  const pid = Number(gone.stdout.trim()); // exited and reaped: no such process now
  const silent = Object.assign(new EventEmitter(), { pid, exitCode: null, signalCode: null });
  assert.deepEqual(await childSettled(silent as never), { code: null, signal: null });
});

Deno.test("childSettled() reports a spawn failure through onError", async () => {
  const child = spawn("/nonexistent/program", [], { stdio: ["pipe", "pipe", "pipe"] });
  let seen: Error | undefined;
  const exit = await childSettled(child, (e) => (seen = e));
  assert.deepEqual(exit, { code: null, signal: null });
  assert.ok(seen instanceof Error);
});
