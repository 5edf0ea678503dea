import assert from "node:assert/strict";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, StoreError } from "../lib/errors/mod.ts";
import { composeStore } from "../lib/store/compose.ts";
import { openLocalStore } from "../lib/store/local.ts";
import { objectKey } from "../lib/core/object_key.ts";
import { transfer } from "../lib/transfer/queue.ts";
import type { TransferItem, TransferProgress } from "../lib/transfer/types.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { faultStore } from "./transfer_fault_store.ts";
import { scratch } from "./helpers/tmp.ts";

interface Bench {
  dir: string;
  remoteDir: string;
  cleanup(): Promise<void>;
}

async function bench(): Promise<Bench> {
  const { dir, cleanup } = await scratch("dxp-queue-");
  return { dir, remoteDir: join(dir, "remote"), cleanup };
}

/** Writes one file per size (distinct contents) and returns upload items for them. */
async function uploads(dir: string, sizes: number[], group?: string): Promise<TransferItem[]> {
  const items: TransferItem[] = [];
  for (const [index, size] of sizes.entries()) {
    const bytes = new Uint8Array(size);
    bytes.fill(index % 251);
    if (size > 0) bytes[0] = index >> 8;
    const hash = hashBytes(bytes);
    const localPath = join(dir, `f${index}`);
    await writeFile(localPath, bytes);
    items.push({
      key: objectKey(hash, "md5"),
      localPath,
      size,
      expect: { hash, scheme: "md5" },
      direction: "upload",
      ...(group ? { group } : {}),
    });
  }
  return items;
}

const instant = { sleep: () => Promise.resolve(), random: () => 0 };

Deno.test("transfer() uploads every item and reports them done with full progress", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, [10, 2000, 300000, 0, 45]);
    const events: TransferProgress[] = [];
    const report = await transfer(items, {
      store: openLocalStore(b.remoteDir),
      onProgress: (p) => events.push(p),
    });
    assert.equal(report.done.length, 5);
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.skipped, []);
    assert.equal(report.interrupted, false);
    for (const item of items) {
      const mode = (await stat(join(b.remoteDir, item.key))).mode & 0o777;
      assert.equal(mode, 0o444, item.key);
    }
    const last = events.at(-1)!;
    assert.equal(last.doneObjects, 5);
    assert.equal(last.totalObjects, 5);
    assert.equal(last.doneBytes, 302055);
    assert.equal(last.totalBytes, 302055);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() retries a 500 and succeeds, without counting bytes twice", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, [3 * 1024 * 1024, 100]);
    const faulty = faultStore(openLocalStore(b.remoteDir));
    faulty.fault = (call, attempt) =>
      call.key === items[0]!.key && attempt === 1
        ? new StoreError("HTTP 500", { transient: true })
        : undefined;
    // Fail after some bytes moved: wrap put so the first attempt reports bytes and then throws.
    const inner = faulty.put.bind(faulty);
    let first = true;
    faulty.put = async (key, path, options) => {
      if (key === items[0]!.key && first) {
        first = false;
        options.onBytes?.(1024 * 1024);
      }
      return await inner(key, path, options);
    };
    let last: TransferProgress | undefined;
    let most = 0;
    const report = await transfer(items, {
      store: composeStore(faulty, { retry: instant }),
      onProgress: (p) => {
        last = p;
        most = Math.max(most, p.doneBytes);
      },
    });
    assert.equal(report.done.length, 2);
    assert.deepEqual(report.failed, []);
    assert.equal(faulty.calls.filter((c) => c.key === items[0]!.key).length, 2);
    assert.equal(last?.doneBytes, 3 * 1024 * 1024 + 100);
    assert.ok(most <= last!.totalBytes, `progress overshot to ${most} bytes`);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() stops on a 403 behind the auth gate with one error and one request", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, [100, 200, 300, 400, 500, 600]);
    const faulty = faultStore(openLocalStore(b.remoteDir));
    faulty.fault = () => new AuthError("access denied (HTTP 403)");
    const report = await transfer(items, {
      store: composeStore(faulty, { retry: instant }),
      authGate: true,
      jobs: 4,
    });
    assert.equal(report.failed.length, 1);
    assert.ok(report.failed[0]!.error instanceof AuthError);
    assert.equal(report.failed[0]!.item.size, 100, "the gate probes with the smallest item");
    assert.equal(report.skipped.length, 5);
    assert.match(report.skipped[0]!.reason, /stopped: access denied/);
    assert.ok(report.stoppedBy instanceof AuthError);
    assert.equal(faulty.calls.length, 1);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() collects every ordinary failure instead of failing fast", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, [1, 2, 3, 4, 5, 6]);
    const faulty = faultStore(openLocalStore(b.remoteDir));
    const broken = new Set([items[1]!.key, items[4]!.key]);
    faulty.fault = (call) => broken.has(call.key) ? new StoreError("HTTP 404") : undefined;
    const report = await transfer(items, { store: faulty, jobs: 2 });
    assert.equal(report.done.length, 4);
    assert.deepEqual(report.failed.map((f) => f.item.key).sort(), [...broken].sort());
    assert.equal(report.stoppedBy, undefined);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() uploads a .dir only after all its members", async () => {
  const b = await bench();
  try {
    const members = await uploads(b.dir, [5000, 6000, 7000, 10]);
    const manifest = join(b.dir, "manifest");
    await writeFile(manifest, "[]");
    const dirHash = hashBytes(new TextEncoder().encode("[]"));
    const dirItem: TransferItem = {
      key: objectKey(`${dirHash}.dir`, "md5"),
      localPath: manifest,
      size: 1_000_000, // large on purpose: size order must not beat `after`
      expect: { hash: `${dirHash}.dir`, scheme: "md5" },
      direction: "upload",
      after: members.map((m) => m.key),
    };
    const faulty = faultStore(openLocalStore(b.remoteDir));
    const report = await transfer([dirItem, ...members], { store: faulty, jobs: 3 });
    assert.equal(report.done.length, 5);
    assert.equal(faulty.calls.at(-1)!.key, dirItem.key);
    assert.equal(report.done.at(-1), dirItem);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() skips a .dir when one of its members failed", async () => {
  const b = await bench();
  try {
    const members = await uploads(b.dir, [50, 60, 70]);
    const manifest = join(b.dir, "manifest");
    await writeFile(manifest, "[]");
    const dirItem: TransferItem = {
      key: objectKey(`${hashBytes(new TextEncoder().encode("[]"))}.dir`, "md5"),
      localPath: manifest,
      size: 2,
      direction: "upload",
      group: "refs/exps/ab/cdef/exp-a",
      after: members.map((m) => m.key),
    };
    const faulty = faultStore(openLocalStore(b.remoteDir));
    faulty.fault = (call) =>
      call.key === members[1]!.key ? new StoreError("disk exploded") : undefined;
    const report = await transfer([...members, dirItem], { store: faulty });
    assert.equal(report.done.length, 2);
    assert.equal(report.failed.length, 1);
    assert.deepEqual(report.skipped, [{
      item: dirItem,
      reason: `'${members[1]!.key}' was not transferred`,
    }]);
    assert.equal(faulty.calls.some((c) => c.key === dirItem.key), false);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() moves a duplicated key once and reports it for every group", async () => {
  const b = await bench();
  try {
    const [item] = await uploads(b.dir, [123], "exp-a");
    const twin = { ...item!, group: "exp-b" };
    const faulty = faultStore(openLocalStore(b.remoteDir));
    let progress: TransferProgress | undefined;
    const report = await transfer([item!, twin], {
      store: faulty,
      onProgress: (p) => progress = p,
    });
    assert.equal(faulty.calls.length, 1);
    assert.deepEqual(report.done.map((i) => i.group), ["exp-a", "exp-b"]);
    assert.equal(progress?.totalObjects, 1);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() starts the largest items first", async () => {
  const b = await bench();
  try {
    const sizes = [30, 5000, 1, 70000, 400, 400, 9];
    const items = await uploads(b.dir, sizes);
    const faulty = faultStore(openLocalStore(b.remoteDir));
    await transfer(items, { store: faulty, jobs: 1 });
    const order = faulty.calls.map((c) => items.find((i) => i.key === c.key)!.size);
    assert.deepEqual(order, [...sizes].sort((x, y) => y - x));
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() never runs more than `jobs` transfers at once", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, Array.from({ length: 24 }, (_, i) => 100 + i));
    const faulty = faultStore(openLocalStore(b.remoteDir));
    faulty.delayMs = 5;
    const report = await transfer(items, { store: faulty, jobs: 3 });
    assert.equal(report.done.length, 24);
    assert.equal(faulty.maxConcurrent, 3);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() aborted by the caller skips the rest and leaves no temp files", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, [
      8 * 1024 * 1024,
      ...Array(20).fill(0).map((_, i) => 10 + i),
    ]);
    const controller = new AbortController();
    const faulty = faultStore(openLocalStore(b.remoteDir));
    faulty.delayMs = 2;
    let seen = 0;
    const report = await transfer(items, {
      store: faulty,
      jobs: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.doneBytes > 0 && ++seen === 3) controller.abort();
      },
    });
    assert.equal(report.interrupted, true);
    assert.ok(report.skipped.length > 0);
    assert.ok(report.skipped.every((s) => s.reason === "the transfer was interrupted"));
    assert.equal(report.done.length + report.skipped.length + report.failed.length, 21);
    assert.deepEqual(report.failed, []);
    const left = (await readdir(b.remoteDir, { recursive: true })).filter((n) =>
      n.endsWith(".tmp")
    );
    assert.deepEqual(left, []);
  } finally {
    await b.cleanup();
  }
});

Deno.test("transfer() downloads with the cache hooks around each object", async () => {
  const b = await bench();
  try {
    const items = await uploads(b.dir, [10, 20]);
    const remote = openLocalStore(b.remoteDir);
    await transfer(items, { store: remote });
    const calls: string[] = [];
    const downloads = items.map((item) => ({
      ...item,
      direction: "download" as const,
      localPath: join(b.dir, "cache", item.key),
    }));
    const report = await transfer(downloads, {
      store: remote,
      beforeDownload: (item) => Promise.resolve(void calls.push(`before ${item.key}`)),
      afterDownload: (item) => Promise.resolve(void calls.push(`after ${item.key}`)),
    });
    assert.equal(report.done.length, 2);
    assert.equal(calls.length, 4);
    for (const item of downloads) {
      assert.ok(calls.indexOf(`before ${item.key}`) < calls.indexOf(`after ${item.key}`));
      assert.equal((await stat(item.localPath)).size, item.size);
    }
  } finally {
    await b.cleanup();
  }
});
