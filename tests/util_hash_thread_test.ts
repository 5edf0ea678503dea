/**
 * HashThread: digests computed on the second thread equal node:crypto's on
 * this one, whatever the chunking, with interleaved digests, a caller that
 * reuses its buffer, and more bytes than the in-flight bound (so update()
 * has to wait for the worker).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HashThread, inlineHash } from "../lib/util/hash_thread.ts";

function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function expected(algorithm: "md5" | "sha256", bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest("hex");
}

Deno.test("HashThread: md5 and sha256 of the same bytes, cut unevenly and interleaved, equal node:crypto's", async () => {
  const bytes = pseudoRandom(3 * 1024 * 1024 + 17, 7);
  const thread = new HashThread();
  try {
    const md5 = thread.start("md5");
    const sha = thread.start("sha256");
    const sizes = [1, 4095, 65536, 1024 * 1024, 3];
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const chunk = bytes.subarray(at, at + sizes[i % sizes.length]!);
      await md5.update(chunk);
      await sha.update(chunk);
      at += chunk.length;
    }
    assert.equal(await sha.digest(), expected("sha256", bytes));
    assert.equal(await md5.digest(), expected("md5", bytes));
    // An empty input, and a digest asked for twice, answer like node:crypto.
    const empty = thread.start("sha256");
    assert.equal(await empty.digest(), expected("sha256", new Uint8Array()));
    assert.equal(await empty.digest(), expected("sha256", new Uint8Array()));
  } finally {
    thread.close();
  }
});

Deno.test("HashThread: a caller reusing one buffer, for more bytes than may be in flight, still gets the right digest", async () => {
  const thread = new HashThread();
  const reference = createHash("md5");
  const buffer = new Uint8Array(1024 * 1024);
  try {
    const md5 = thread.start("md5");
    for (let i = 0; i < 48; i++) {
      buffer.set(pseudoRandom(buffer.length, i + 1));
      reference.update(buffer);
      await md5.update(buffer);
      buffer.fill(0); // what the caller does next must not change what was hashed
    }
    assert.equal(await md5.digest(), reference.digest("hex"));
  } finally {
    thread.close();
  }
});

Deno.test("HashThread: close() fails a digest still pending instead of leaving it unanswered", async () => {
  const thread = new HashThread();
  const md5 = thread.start("md5");
  await md5.update(pseudoRandom(1024, 3));
  thread.close();
  await assert.rejects(() => md5.digest(), /closed/);
});

Deno.test("inlineHash answers like node:crypto", async () => {
  const bytes = pseudoRandom(10000, 9);
  const hash = inlineHash("sha256");
  await hash.update(bytes.subarray(0, 5000));
  await hash.update(bytes.subarray(5000));
  assert.equal(await hash.digest(), expected("sha256", bytes));
});
