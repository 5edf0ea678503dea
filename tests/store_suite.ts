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
import { isTempName } from "../lib/store/local_write.ts";
import { runAsync, scratch } from "./helpers/tmp.ts";

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

/**
 * Breaks the medium under a store in the middle of a transfer, the way it
 * breaks in real life (the disk fills up, the connection dies), and repairs
 * it afterwards. For backends without request-level faults (local, SFTP).
 */
export interface MediumFaults {
  /** Breaks it now: bytes of `operation` on `key` (from `localPath`) are moving. */
  break(operation: "put" | "get", key: string, localPath: string): void;
  /** Repairs it, so that the same transfer can succeed. */
  repair(): Promise<void>;
  /** What the broken transfer's error must say (proves it was this fault). */
  readonly error: { readonly put: RegExp; readonly get: RegExp };
  /**
   * A broken put may leave a temp file the store cannot remove any more
   * (an SFTP session killed mid-write): allowed if it never looks like a key.
   */
  readonly mayLeaveTempFiles?: boolean;
}

/** The same store as a remote config, for opening it in another process. */
export interface RemoteConfig {
  /** "" for a local path, else the URL scheme (as the store registry). */
  type: string;
  url: string;
  options: Record<string, string>;
  env: Record<string, string>;
}

/** What a backend's `setup` returns for one test. */
export interface StoreUnderTest {
  store: Store;
  teardown(): Promise<void>;
  /** Request-level faults (HTTP status, reset, truncated body): `faults: "requests"`. */
  inject?: FaultInjector;
  /** Mid-transfer faults of the medium: `faults: "medium"`. */
  medium?: MediumFaults;
  /**
   * The same store as a remote config: its memory is then also measured in
   * the runtime dxp ships in (Bun, in a child process).
   */
  remote?: RemoteConfig;
  /**
   * Every entry physically present in the store, temp files included (for
   * stores whose `list` hides temp files), read without the store under test
   * where possible; defaults to `list("")`.
   */
  rawEntries?(): Promise<string[]>;
}

export interface StoreSuiteOptions {
  /** Deno's op/resource sanitizers (turn off for backends with pooled connections). */
  sanitize?: boolean;
  /** How faults are injected into this backend: every backend has one way. */
  faults: "requests" | "medium";
  /**
   * False when the Deno runtime itself distorts this process's RSS for this
   * backend (Deno's fetch copies request bodies): memory is then measured
   * only in the Bun child (`remote` is required).
   */
  rssInProcess?: boolean;
}

/** Registers the conformance tests for one backend. */
export function storeSuite(
  name: string,
  setup: () => Promise<StoreUnderTest>,
  options: StoreSuiteOptions,
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

  test("a 40 MiB object streams without being held twice in memory", async (subject, dir) => {
    const { store } = subject;
    const size = 40 * 1024 * 1024;
    const source = join(dir, "large");
    const hash = await writeRandomFile(source, size);
    const key = objectKey(hash, "md5");
    const bound = size * 1.5;
    const inProcess = options.rssInProcess ?? true;
    assert.ok(inProcess || subject.remote, "memory must be measured somewhere");
    if (inProcess) {
      const peak = watchRss();
      await store.put(key, source, { expect: { hash, scheme: "md5" }, size });
      const target = join(dir, "copy");
      await store.get(key, target, { expect: { hash, scheme: "md5" }, size });
      const growth = peak.stop();
      assert.equal((await stat(target)).size, size);
      assert.ok(growth < bound, `peak RSS grew by ${mib(growth)} MiB for a 40 MiB object`);
      await store.delete(key);
    }
    if (subject.remote) {
      // Under Bun the heap keeps a large fixed slack, so what is measured is the growth that
      // follows the size: 64 MiB more data must cost well under 64 MiB more memory.
      const jobs = [];
      for (const mebibytes of [24, 88]) {
        const path = join(dir, `bun-${mebibytes}`);
        const digest = await writeRandomFile(path, mebibytes * 2 ** 20);
        jobs.push({
          key: objectKey(digest, "md5"),
          source: path,
          target: join(dir, `bun-${mebibytes}-copy`),
          hash: digest,
          size: mebibytes * 2 ** 20,
        });
      }
      const [start, warm, big] = await rssPeaksInBun(subject.remote, jobs);
      for (const job of jobs) assert.equal(await md5File(job.target), job.hash);
      const extra = big! - warm!;
      assert.ok(
        extra < 32 * 2 ** 20,
        `under Bun, 64 MiB more data raised the peak RSS by ${mib(extra)} MiB ` +
          `(working set after 24 MiB: ${mib(warm! - start!)} MiB)`,
      );
    }
  });

  if (options.faults === "medium") {
    test(
      "a transfer whose medium breaks part-way leaves nothing under a key; repaired, a retry succeeds",
      async (subject, dir) => {
        const { store, medium } = subject;
        assert.ok(medium, "a backend with faults: 'medium' must give `medium`");
        const size = 8 * 1024 * 1024;
        const source = join(dir, "source");
        const hash = await writeRandomFile(source, size);
        const key = objectKey(hash, "md5");
        const expect = { hash, scheme: "md5" as const };
        const breakOnce = (operation: "put" | "get", localPath: string) => {
          const state = { broken: false };
          const onBytes = () => {
            if (state.broken) return;
            state.broken = true;
            medium.break(operation, key, localPath);
          };
          return { state, onBytes };
        };

        const put = breakOnce("put", source);
        await assert.rejects(
          store.put(key, source, { expect, size, onBytes: put.onBytes }),
          (e: unknown) => {
            assert.ok(e instanceof DxpError, String(e));
            assert.match(e.message, medium.error.put);
            return true;
          },
        );
        assert.ok(put.state.broken, "the put ended before the medium broke");
        await medium.repair();
        assert.equal(await store.exists(key), false);
        const left = (await rawEntries(subject))
          .filter((entry) => !(medium.mayLeaveTempFiles && isTempName(entry)));
        assert.deepEqual(left, [], "nothing that looks like a key");
        await store.put(key, source, { expect, size });

        const target = join(dir, "out", "copy");
        const get = breakOnce("get", target);
        await assert.rejects(
          store.get(key, target, { expect, size, onBytes: get.onBytes }),
          (e: unknown) => {
            assert.ok(e instanceof DxpError, String(e));
            assert.match(e.message, medium.error.get);
            return true;
          },
        );
        assert.ok(get.state.broken, "the get ended before the medium broke");
        assert.deepEqual(await listDir(join(dir, "out")), []);
        await medium.repair();
        await store.get(key, target, { expect, size });
        assert.equal(await md5File(target), hash);
      },
    );
  }

  if (options.faults !== "requests") return;
  test(
    "with injected faults, a failed request stores nothing and a retry succeeds",
    async (subject, dir) => {
      const { store, inject } = subject;
      assert.ok(inject, "a backend with faults: 'requests' must give `inject`");
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

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

async function md5File(path: string): Promise<string> {
  return createHash("md5").update(await readFile(path)).digest("hex");
}

const BUN = new URL("../node_modules/.bin/bun", import.meta.url).pathname;
const RSS_PROBE = new URL("./helpers/store_rss_probe.ts", import.meta.url).pathname;

/**
 * Runs put-then-get `jobs` through the same store opened in a Bun child
 * process (the runtime of dist/dxp); returns its RSS at start and its peak
 * RSS up to the end of each job.
 */
async function rssPeaksInBun(
  remote: RemoteConfig,
  jobs: { key: string; source: string; target: string; hash: string; size: number }[],
): Promise<number[]> {
  const child = await runAsync(BUN, [RSS_PROBE, JSON.stringify({ remote, jobs })], {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...remote.env },
  });
  assert.equal(child.code, 0, child.stderr);
  const peaks = JSON.parse(child.stdout.trim().split("\n").at(-1)!).peaks as number[];
  assert.equal(peaks.length, jobs.length + 1, child.stdout);
  return peaks;
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
