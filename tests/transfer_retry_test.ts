import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, CorruptError, InterruptedError, StoreError } from "../lib/errors/mod.ts";
import {
  isTransient,
  parseRetryAfter,
  stopsQueue,
  storeErrorFromErrno,
  storeErrorFromNetwork,
  storeErrorFromStatus,
} from "../lib/store/errors.ts";
import { withConcurrencyLimit } from "../lib/store/limit.ts";
import { openLocalStore } from "../lib/store/local.ts";
import { withRetry } from "../lib/store/retry.ts";
import { faultStore } from "./transfer_fault_store.ts";
import { scratch } from "./helpers/tmp.ts";

const errno = (code: string) => Object.assign(new Error(`${code}: raw text`), { code });

Deno.test("storeErrorFromErrno() makes ENOSPC/EROFS permanent queue stoppers and EMFILE transient", () => {
  for (const code of ["ENOSPC", "EROFS", "EDQUOT"]) {
    const error = storeErrorFromErrno(errno(code), {
      action: "upload 'a' to '/mnt/store/files/md5/ab/cd'",
      where: "/mnt/store/files/md5/ab/cd",
    });
    assert.ok(error instanceof StoreError && !error.transient, code);
    assert.equal(stopsQueue(error), true, code);
    assert.match(error.message, /^Failed to upload 'a' to '\/mnt\/store\/files\/md5\/ab\/cd': /);
    assert.equal(error.message.includes("\n"), false);
  }
  const denied = storeErrorFromErrno(errno("EACCES"), { action: "write '/x'", where: "/x" });
  assert.equal(
    denied.message,
    "Failed to write '/x': permission denied (EACCES); check the path and its permissions.",
  );
  assert.equal(isTransient(denied), false);
  assert.equal(stopsQueue(denied), false);
  for (const code of ["EMFILE", "EAGAIN", "ESTALE"]) {
    assert.equal(isTransient(storeErrorFromErrno(errno(code), { action: "x", where: "/x" })), true);
  }
  const typed = new CorruptError("bad");
  assert.equal(storeErrorFromErrno(typed, { action: "x", where: "/x" }), typed);
});

Deno.test("storeErrorFromStatus() maps 401/403 to auth, 5xx/429 to transient with Retry-After", () => {
  const url = "https://user:secret@example.com/store/files/md5/ab/cd";
  const denied = storeErrorFromStatus(403, { action: `upload 'x' to '${url}'`, where: url });
  assert.ok(denied instanceof AuthError);
  assert.equal(stopsQueue(denied), true);
  assert.equal(denied.message.includes("secret"), false);
  const busy = storeErrorFromStatus(503, { action: "get", where: url, retryAfter: "7" });
  assert.ok(busy instanceof StoreError && busy.transient && busy.retryAfterMs === 7000);
  const limited = storeErrorFromStatus(429, { action: "get", where: url });
  assert.ok(
    limited instanceof StoreError && limited.transient && limited.retryAfterMs === undefined,
  );
  const missing = storeErrorFromStatus(404, { action: "get", where: url });
  assert.ok(missing instanceof StoreError && !missing.transient);
  assert.equal(
    parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.UTC(2015, 9, 21, 7, 28, 0)),
    10_000,
  );
  assert.equal(parseRetryAfter("soon"), undefined);
  const reset = storeErrorFromNetwork(errno("ECONNRESET"), { action: "get", where: url });
  assert.equal(isTransient(reset), true);
  assert.equal(
    isTransient(storeErrorFromNetwork(errno("ENOTFOUND"), { action: "x", where: url })),
    false,
  );
});

Deno.test("a local store whose root is a file fails with one permanent error naming the path", async () => {
  const { dir, cleanup } = await scratch("dxp-retry-");
  try {
    await writeFile(join(dir, "root"), "not a folder");
    await writeFile(join(dir, "src"), "x");
    const store = openLocalStore(join(dir, "root"));
    await assert.rejects(store.put("files/md5/ab/cd", join(dir, "src"), {}), (error: unknown) => {
      assert.ok(error instanceof StoreError && !error.transient);
      assert.match(error.message, /root\/files\/md5\/ab\/cd'.*\(ENOTDIR\)/);
      return true;
    });
  } finally {
    await cleanup();
  }
});

Deno.test("withRetry() retries transient errors with capped exponential backoff and Retry-After", async () => {
  const { dir, cleanup } = await scratch("dxp-retry-");
  try {
    const inner = faultStore(openLocalStore(dir));
    inner.fault = (_call, attempt) =>
      attempt <= 4
        ? new StoreError("busy", {
          transient: true,
          ...(attempt === 3 ? { retryAfterMs: 9000 } : {}),
        })
        : undefined;
    const delays: number[] = [];
    const store = withRetry(inner, {
      attempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 1,
      sleep: (ms) => Promise.resolve(void delays.push(ms)),
    });
    assert.equal(await store.exists("runs/x"), false);
    assert.deepEqual(delays, [100, 200, 9000, 300]);
  } finally {
    await cleanup();
  }
});

Deno.test("withRetry() gives up after `attempts` and never retries permanent errors", async () => {
  const { dir, cleanup } = await scratch("dxp-retry-");
  try {
    const inner = faultStore(openLocalStore(dir));
    const sleep = () => Promise.resolve();
    inner.fault = () => new StoreError("busy", { transient: true });
    await assert.rejects(withRetry(inner, { attempts: 3, sleep }).exists("k"), /busy/);
    assert.equal(inner.calls.length, 3);
    inner.calls.length = 0;
    inner.fault = () => new AuthError("denied");
    await assert.rejects(withRetry(inner, { attempts: 3, sleep }).exists("k"), AuthError);
    assert.equal(inner.calls.length, 1);
  } finally {
    await cleanup();
  }
});

Deno.test("withRetry() stops waiting when the signal aborts", async () => {
  const { dir, cleanup } = await scratch("dxp-retry-");
  try {
    const inner = faultStore(openLocalStore(dir));
    inner.fault = () => new StoreError("busy", { transient: true });
    const controller = new AbortController();
    const store = withRetry(inner, { baseDelayMs: 60_000 });
    const pending = store.exists("k", controller.signal);
    setTimeout(() => controller.abort(), 10);
    await assert.rejects(pending, InterruptedError);
  } finally {
    await cleanup();
  }
});

Deno.test("withRetry() re-lists after a failure part-way without repeating keys", async () => {
  let round = 0;
  const store = withRetry({
    displayUrl: "fake",
    canList: true,
    async *list() {
      round++;
      yield "a";
      yield "b";
      if (round === 1) throw new StoreError("reset", { transient: true });
      yield "c";
    },
    exists: () => Promise.resolve(false),
    put: () => Promise.resolve(),
    get: () => Promise.resolve(),
    delete: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }, { sleep: () => Promise.resolve() });
  const keys: string[] = [];
  for await (const key of store.list("")) keys.push(key);
  assert.deepEqual(keys, ["a", "b", "c"]);
});

Deno.test("withConcurrencyLimit() bounds calls in flight across callers", async () => {
  const { dir, cleanup } = await scratch("dxp-retry-");
  try {
    const inner = faultStore(openLocalStore(dir));
    inner.delayMs = 5;
    await writeFile(join(dir, "src"), "x");
    const store = withConcurrencyLimit(inner, 2);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.put(`runs/k${i}`, join(dir, "src"), {})),
    );
    assert.equal(inner.maxConcurrent, 2);
    assert.equal(inner.calls.length, 10);
  } finally {
    await cleanup();
  }
});
