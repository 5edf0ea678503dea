/**
 * The conformance suite every Store backend passes (DESIGN.md §4). A backend
 * test is a few lines:
 *
 *   storeSuite("local", async () => {
 *     const { dir, cleanup } = await scratch();
 *     return { store: openLocalStore(dir), teardown: cleanup };
 *   });
 *
 * `setup` is called once per test and must give an empty store.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import process from "node:process";
import { join } from "node:path";
import { CorruptError, DxpError, StoreError } from "../lib/errors/mod.ts";
import { isNotFound } from "../lib/store/errors.ts";
import { objectKey } from "../lib/core/object_key.ts";
import type { Store, TransferOptions } from "../lib/store/types.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { scratch } from "./helpers/tmp.ts";

/** Faults a backend's test harness can inject into the next requests it serves. */
export interface FaultInjector {
  /**
   * Makes the next `count` requests (default 1) fail: `status` answers with
   * that HTTP status, `reset` drops the connection, `truncate` sends half of
   * a response body then closes the connection.
   */
  failNext(fault: { status: number } | "reset" | "truncate", count?: number): void;
  /** Removes pending faults. */
  clear(): void;
}

/** What a backend's `setup` returns for one test. */
export interface StoreUnderTest {
  store: Store;
  teardown(): Promise<void>;
  inject?: FaultInjector;
  /**
   * Every entry physically present in the store, temp files included (for
   * stores whose `list` hides temp files); defaults to `list("")`.
   */
  rawEntries?(): Promise<string[]>;
}

export interface StoreSuiteOptions {
  /** Deno's op/resource sanitizers (turn off for backends with pooled connections). */
  sanitize?: boolean;
  /**
   * Where this backend's memory bound is checked instead, when the Deno
   * runtime itself distorts it (Deno's fetch copies request bodies); the
   * 40 MiB test then checks the transfer but not the RSS growth.
   */
  memoryCheckedIn?: string;
}

/** Registers the conformance tests for one backend. */
export function storeSuite(
  name: string,
  setup: () => Promise<StoreUnderTest>,
  options: StoreSuiteOptions = {},
): void {
  const sanitize = options.sanitize ?? true;
  const test = (title: string, body: (t: StoreUnderTest, dir: string) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${title}`,
      sanitizeOps: sanitize,
      sanitizeResources: sanitize,
      fn: async () => {
        const subject = await setup();
        const local = await scratch("dxp-suite-");
        try {
          await body(subject, local.dir);
        } finally {
          await subject.teardown();
          await local.cleanup();
        }
      },
    });

  test("put() then get() round-trips the bytes, verified by md5", async ({ store }, dir) => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const hash = md5(bytes);
    const key = objectKey(hash, "md5");
    const source = join(dir, "source");
    await writeFile(source, bytes);
    let reported = 0;
    await store.put(key, source, {
      expect: { hash, scheme: "md5" },
      size: bytes.length,
      onBytes: (n) => reported += n,
    });
    assert.equal(reported, bytes.length);
    assert.equal(await store.exists(key), true);
    const target = join(dir, "fresh", "folder", "copy");
    await store.get(key, target, { expect: { hash, scheme: "md5" }, size: bytes.length });
    assert.equal(md5(await readFile(target)), hash);
    assert.deepEqual(await readdir(join(dir, "fresh", "folder")), ["copy"]);
  });

  test("put() stores nothing when the md5 differs from expect", async (subject, dir) => {
    const { store } = subject;
    const source = join(dir, "source");
    await writeFile(source, "actual content\n");
    const claimed = md5(new TextEncoder().encode("other content\n"));
    const key = objectKey(claimed, "md5");
    await assert.rejects(
      store.put(key, source, { expect: { hash: claimed, scheme: "md5" } }),
      CorruptError,
    );
    assert.equal(await store.exists(key), false);
    assert.deepEqual(await collect(store.list("files/")), []);
    assert.deepEqual(await rawEntries(subject), []);
  });

  test("put() of a missing local file fails and stores nothing", async (subject, dir) => {
    const key = objectKey("0".repeat(32), "md5");
    await assert.rejects(subject.store.put(key, join(dir, "absent"), {}), DxpError);
    assert.equal(await subject.store.exists(key), false);
    assert.deepEqual(await rawEntries(subject), []);
  });

  test(
    "get() leaves nothing at the local path when the object is corrupt",
    async ({ store }, dir) => {
      const source = join(dir, "source");
      await writeFile(source, "tampered bytes\n");
      const claimed = md5(new TextEncoder().encode("original bytes\n"));
      const key = objectKey(claimed, "md5");
      await store.put(key, source, {}); // no expect: simulates a corrupt remote object
      const target = join(dir, "out", "object");
      await assert.rejects(
        store.get(key, target, { expect: { hash: claimed, scheme: "md5" } }),
        CorruptError,
      );
      assert.deepEqual(await listDir(join(dir, "out")), []);
    },
  );

  test("get() of a missing key fails as not found and writes nothing", async ({ store }, dir) => {
    const key = objectKey("1".repeat(32), "md5");
    const target = join(dir, "out", "object");
    await assert.rejects(store.get(key, target, {}), (error: unknown) => {
      assert.ok(isNotFound(error), `expected a not-found StoreError, got ${String(error)}`);
      return true;
    });
    assert.deepEqual(await listDir(join(dir, "out")), []);
  });

  test("keys with spaces, unicode and +&= round-trip, list and delete", async ({ store }, dir) => {
    const keys = [
      "weird/a b/c+d&e=f.txt",
      "weird/ünï cødé/ß 東京.bin",
      "weird/100% sure?#frag",
      "weird/plus+only",
    ];
    for (const [index, key] of keys.entries()) {
      const source = join(dir, `s${index}`);
      await writeFile(source, `content of ${key}`);
      await store.put(key, source, {});
    }
    assert.deepEqual((await collect(store.list("weird/"))).sort(), [...keys].sort());
    for (const [index, key] of keys.entries()) {
      assert.equal(await store.exists(key), true, key);
      const target = join(dir, `t${index}`);
      await store.get(key, target, {});
      assert.equal(await readFile(target, "utf8"), `content of ${key}`);
    }
    await store.delete(keys[0]!);
    assert.equal(await store.exists(keys[0]!), false);
    assert.deepEqual((await collect(store.list("weird/"))).sort(), keys.slice(1).sort());
  });

  test(
    "list() returns exactly the keys under a prefix, after put and after delete",
    async ({ store }, dir) => {
      const put = async (text: string) => {
        const bytes = new TextEncoder().encode(text);
        const key = objectKey(md5(bytes), "md5");
        const source = join(dir, md5(bytes));
        await writeFile(source, bytes);
        await store.put(key, source, { expect: { hash: md5(bytes), scheme: "md5" } });
        return key;
      };
      const keys: string[] = [];
      for (let i = 0; keys.length < 3; i++) {
        const text = `object ${i}`;
        if (md5(new TextEncoder().encode(text)).startsWith("a")) keys.push(await put(text));
      }
      const other = await put("zzz"); // f3abb86bd34cf4d52698f14c0da1dc60: another prefix
      const prefixOf = (key: string) => key.slice(0, "files/md5/xx/".length);
      const prefix = prefixOf(keys[0]!);
      const expected = keys.filter((key) => prefixOf(key) === prefix).sort();
      assert.deepEqual((await collect(store.list(prefix))).sort(), expected);
      assert.deepEqual(
        (await collect(store.list("files/md5/"))).sort(),
        [...keys, other].sort(),
      );
      await store.delete(expected[0]!);
      assert.deepEqual((await collect(store.list(prefix))).sort(), expected.slice(1));
      assert.deepEqual(await collect(store.list("nothing/here/")), []);
    },
  );

  test("exists() is false and delete() is quiet for a missing key", async ({ store }) => {
    const key = objectKey("2".repeat(32), "md5");
    assert.equal(await store.exists(key), false);
    await store.delete(key);
    assert.equal(await store.exists("runs/ab/never/written"), false);
  });

  test("put() over an existing object is harmless", async ({ store }, dir) => {
    const bytes = new TextEncoder().encode("same bytes twice\n");
    const hash = md5(bytes);
    const key = objectKey(hash, "md5");
    const source = join(dir, "source");
    await writeFile(source, bytes);
    await store.put(key, source, { expect: { hash, scheme: "md5" } });
    await store.put(key, source, { expect: { hash, scheme: "md5" } });
    const target = join(dir, "copy");
    await store.get(key, target, { expect: { hash, scheme: "md5" } });
    assert.deepEqual(new Uint8Array(await readFile(target)), bytes);
    assert.deepEqual(await collect(store.list("files/")), [key]);
  });

  test("put() of a 0-byte object works", async ({ store }, dir) => {
    const hash = "d41d8cd98f00b204e9800998ecf8427e";
    const key = objectKey(hash, "md5");
    const source = join(dir, "empty");
    await writeFile(source, "");
    await store.put(key, source, { expect: { hash, scheme: "md5" }, size: 0 });
    assert.equal(await store.exists(key), true);
    const target = join(dir, "copy");
    await store.get(key, target, { expect: { hash, scheme: "md5" }, size: 0 });
    assert.equal((await stat(target)).size, 0);
  });

  test("put() and get() verify legacy md5-dos2unix objects", async ({ store }, dir) => {
    const source = join(dir, "crlf.txt");
    await writeFile(source, "a\r\nb\r\n");
    const legacy = hashBytes(new TextEncoder().encode("a\nb\n")); // dos2unix = md5 of LF text
    const raw = hashBytes(new TextEncoder().encode("a\r\nb\r\n"));
    const key = objectKey(legacy, "md5-dos2unix");
    await assert.rejects(
      store.put(key, source, { expect: { hash: raw, scheme: "md5-dos2unix" } }),
      CorruptError,
    );
    await store.put(key, source, { expect: { hash: legacy, scheme: "md5-dos2unix" } });
    const target = join(dir, "copy.txt");
    await store.get(key, target, { expect: { hash: legacy, scheme: "md5-dos2unix" } });
    assert.equal(await readFile(target, "utf8"), "a\r\nb\r\n"); // bytes kept as they are
    await assert.rejects(
      store.get(key, join(dir, "wrong"), { expect: { hash: legacy, scheme: "md5" } }),
      CorruptError,
    );
    assert.deepEqual((await readdir(dir)).sort(), ["copy.txt", "crlf.txt"]);
  });

  test("put() and get() aborted mid-transfer leave nothing visible", async (subject, dir) => {
    const { store } = subject;
    const source = join(dir, "big");
    const hash = await writeRandomFile(source, 24 * 1024 * 1024);
    const key = objectKey(hash, "md5");
    const aborting = (): TransferOptions & { controller: AbortController } => {
      const controller = new AbortController();
      return {
        controller,
        expect: { hash, scheme: "md5" },
        size: 24 * 1024 * 1024,
        signal: controller.signal,
        onBytes: () => controller.abort(),
      };
    };
    await assert.rejects(store.put(key, source, aborting()));
    assert.equal(await store.exists(key), false);
    assert.deepEqual(await rawEntries(subject), []);

    await store.put(key, source, { expect: { hash, scheme: "md5" } });
    const target = join(dir, "out", "big");
    await assert.rejects(store.get(key, target, aborting()));
    assert.deepEqual(await listDir(join(dir, "out")), []);
  });

  test("a 40 MiB object streams without being held twice in memory", async ({ store }, dir) => {
    const size = 40 * 1024 * 1024;
    const source = join(dir, "large");
    const hash = await writeRandomFile(source, size);
    const key = objectKey(hash, "md5");
    const peak = watchRss();
    await store.put(key, source, { expect: { hash, scheme: "md5" }, size });
    const target = join(dir, "copy");
    await store.get(key, target, { expect: { hash, scheme: "md5" }, size });
    const growth = peak.stop();
    assert.equal((await stat(target)).size, size);
    if (options.memoryCheckedIn !== undefined) return;
    assert.ok(
      growth < size * 1.5,
      `peak RSS grew by ${Math.round(growth / 2 ** 20)} MiB for a 40 MiB object`,
    );
  });

  test(
    "with injected faults, a failed request stores nothing and a retry succeeds",
    async (subject, dir) => {
      const { store, inject } = subject;
      if (!inject) return; // this backend has no fault injection
      const bytes = randomBytes(256 * 1024);
      const hash = md5(bytes);
      const key = objectKey(hash, "md5");
      const source = join(dir, "source");
      await writeFile(source, bytes);
      inject.failNext({ status: 503 });
      await assert.rejects(store.put(key, source, { expect: { hash, scheme: "md5" } }), (e) => {
        assert.ok(e instanceof StoreError && e.transient, `expected transient, got ${String(e)}`);
        return true;
      });
      inject.clear();
      await store.put(key, source, { expect: { hash, scheme: "md5" } });

      for (const fault of ["truncate", "reset", { status: 500 }] as const) {
        inject.failNext(fault);
        const target = join(dir, "out", "copy");
        await assert.rejects(store.get(key, target, { expect: { hash, scheme: "md5" } }));
        assert.deepEqual(await listDir(join(dir, "out")), [], `after ${JSON.stringify(fault)}`);
        inject.clear();
      }
      await store.get(key, join(dir, "copy"), { expect: { hash, scheme: "md5" } });
    },
  );
}

function md5(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

/** Writes `size` random bytes in 1 MiB pieces and returns their md5. */
async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("md5");
  const handle = await open(path, "w");
  try {
    for (let done = 0; done < size;) {
      const piece = randomBytes(Math.min(1024 * 1024, size - done));
      hash.update(piece);
      await handle.write(piece);
      done += piece.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

async function rawEntries(subject: StoreUnderTest): Promise<string[]> {
  return subject.rawEntries ? await subject.rawEntries() : await collect(subject.store.list(""));
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

/** Samples RSS every few ms; `stop()` returns the peak growth over the start. */
function watchRss(): { stop(): number } {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => peak = Math.max(peak, process.memoryUsage.rss()), 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss()) - start;
    },
  };
}
