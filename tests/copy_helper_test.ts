/**
 * The copying thread of local stores (a real Worker, from source): what it
 * copies and hashes, how it shares copies with the main thread, how it
 * stops, and what a failed read or write looks like; then the local store
 * moving large objects through it both ways, a corrupt one included.
 */
import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorruptError, InterruptedError, StoreError } from "../lib/errors/mod.ts";
import { CopyHelper, OFF_THREAD_MIN_BYTES } from "../lib/store/copy_helper.ts";
import { CopySideError } from "../lib/store/fd_copy.ts";
import { openLocalStore } from "../lib/store/local.ts";
import { run } from "./helpers/tmp.ts";
import { isRoot } from "./helpers/unprivileged.ts";

const MIB = 1024 * 1024;

function scratch(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "dxp-copy-helper-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `body` with a scratch folder and a copying thread, both gone after. */
async function withHelper(body: (dir: string, helper: CopyHelper) => Promise<void>) {
  const { dir, cleanup } = scratch();
  const helper = new CopyHelper();
  try {
    await body(dir, helper);
  } finally {
    await helper.close();
    cleanup();
  }
}

function randomFile(path: string, size: number): { bytes: Uint8Array; md5: string } {
  const bytes = randomFillSync(new Uint8Array(size));
  writeFileSync(path, bytes);
  return { bytes, md5: createHash("md5").update(bytes).digest("hex") };
}

/** The copy into `dst` stopped part-way, and 50 ms later its size has not moved. */
async function assertStoppedForGood(dst: string, size: number): Promise<void> {
  const sizeAtStop = statSync(dst).size;
  assert.ok(sizeAtStop < size, `stopped early (${sizeAtStop} of ${size} bytes)`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(statSync(dst).size, sizeAtStop, "no write after the copy ended");
}

Deno.test("the copying thread fills a file with another's bytes and returns their md5", () =>
  withHelper(async (dir, helper) => {
    const { bytes, md5 } = randomFile(join(dir, "src"), 20 * MIB + 123);
    writeFileSync(join(dir, "dst"), "");
    let told = 0;
    const lease = helper.claim(bytes.length);
    assert.ok(lease, "an idle thread takes the first copy");
    const copied = await lease.copy(
      join(dir, "src"),
      join(dir, "dst"),
      undefined,
      (n) => (told += n),
    );
    assert.deepEqual(copied, { digest: md5, bytes: bytes.length });
    assert.equal(told, bytes.length, "progress adds up to the size");
    assert.ok(Buffer.from(readFileSync(join(dir, "dst"))).equals(bytes));
  }));

Deno.test("copies go to the thread only while it has no more bytes ahead than the main thread", async () => {
  const helper = new CopyHelper();
  try {
    const first = helper.claim(50 * MIB);
    assert.ok(first, "idle thread");
    assert.equal(helper.claim(10 * MIB), undefined, "50 MiB queued there, none here: copy here");
    const here = helper.onMainThread(60 * MIB);
    const second = helper.claim(10 * MIB);
    assert.ok(second, "60 MiB here against 50 there: the thread takes the next");
    here();
    here(); // idempotent
    assert.equal(helper.claim(MIB), undefined, "60 MiB there, none here again");
    first.release();
    second.release();
    assert.ok(helper.claim(MIB), "released leases free the thread");
  } finally {
    await helper.close();
  }
});

Deno.test("an abort stops the thread's copy at its next chunk; it writes nothing after", () =>
  withHelper(async (dir, helper) => {
    const size = 64 * MIB;
    randomFile(join(dir, "src"), size);
    const dst = join(dir, "dst");
    writeFileSync(dst, "");
    const controller = new AbortController();
    const lease = helper.claim(size)!;
    // Stopped as soon as the first progress arrives (after 8 MiB).
    const copying = lease.copy(join(dir, "src"), dst, controller.signal, () => controller.abort());
    await assert.rejects(copying, InterruptedError);
    await assertStoppedForGood(dst, size);
    // The thread is free again and copies the next one whole.
    writeFileSync(join(dir, "dst2"), "");
    const copied = await helper.claim(size)!.copy(join(dir, "src"), join(dir, "dst2"));
    assert.equal(copied.bytes, size);
    assert.equal(statSync(join(dir, "dst2")).size, size);
  }));

Deno.test("a failed read or write comes back as that side's error with its errno", () =>
  withHelper(async (dir, helper) => {
    const failure = (source: string, target: string) =>
      helper.claim(9 * MIB)!.copy(source, target).then(
        () => assert.fail("a copy that cannot be made succeeded"),
        (e: unknown) => e,
      );
    randomFile(join(dir, "src"), 9 * MIB);
    writeFileSync(join(dir, "dst"), "");
    // The target must exist: the thread never creates a file.
    const noTarget = await failure(join(dir, "src"), join(dir, "missing"));
    assert.ok(noTarget instanceof CopySideError, String(noTarget));
    assert.deepEqual([noTarget.side, noTarget.code], ["write", "ENOENT"]);
    assert.equal(existsSync(join(dir, "missing")), false, "nothing created");
    const noSource = await failure(join(dir, "gone"), join(dir, "dst"));
    assert.ok(noSource instanceof CopySideError, String(noSource));
    assert.deepEqual([noSource.side, noSource.code], ["read", "ENOENT"]);
    const folder = await failure(dir, join(dir, "dst"));
    assert.ok(folder instanceof CopySideError, String(folder));
    assert.deepEqual([folder.side, folder.code], ["read", "EISDIR"]);
  }));

Deno.test("close() waits for the copy it stops: nothing is written after it returns", () =>
  withHelper(async (dir, helper) => {
    const size = 64 * MIB;
    randomFile(join(dir, "src"), size);
    const dst = join(dir, "dst");
    writeFileSync(dst, "");
    let closing: Promise<void> | undefined;
    const copying = helper.claim(size)!.copy(join(dir, "src"), dst, undefined, () => {
      closing ??= helper.close();
    });
    await assert.rejects(copying);
    await closing;
    await assertStoppedForGood(dst, size);
  }));

/** A cache and a local remote with `count` large objects in the cache. */
function storeScratch(count: number, size: number) {
  const { dir, cleanup } = scratch();
  const cache = join(dir, "cache");
  const objects = Array.from({ length: count }, (_, i) => {
    const path = join(cache, `object-${i}`);
    mkdirSync(cache, { recursive: true });
    const { bytes, md5 } = randomFile(path, size + i);
    return { path, bytes, md5, key: `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}` };
  });
  return { dir, cleanup, remote: join(dir, "remote"), objects };
}

Deno.test("a local store puts and gets large objects through both threads at once, byte for byte", async () => {
  const s = storeScratch(4, OFF_THREAD_MIN_BYTES + MIB);
  const store = openLocalStore(s.remote);
  try {
    await Promise.all(
      s.objects.map((o) =>
        store.put(o.key, o.path, { expect: { hash: o.md5, scheme: "md5" }, size: o.bytes.length })
      ),
    );
    for (const o of s.objects) {
      const there = join(s.remote, o.key);
      assert.ok(Buffer.from(readFileSync(there)).equals(o.bytes), o.key);
      assert.equal(statSync(there).mode & 0o777, 0o444, "objects are protected");
    }
    const back = join(s.dir, "back");
    await Promise.all(
      s.objects.map((o, i) =>
        store.get(o.key, join(back, `got-${i}`), { expect: { hash: o.md5, scheme: "md5" } })
      ),
    );
    s.objects.forEach((o, i) => {
      assert.ok(Buffer.from(readFileSync(join(back, `got-${i}`))).equals(o.bytes));
    });
    assert.deepEqual(readdirSync(back).filter((n) => n.endsWith(".tmp")), []);
  } finally {
    await store.close();
    s.cleanup();
  }
});

Deno.test("a large object whose bytes are not its name is refused both ways, and nothing is left", async () => {
  const s = storeScratch(1, OFF_THREAD_MIN_BYTES + 5);
  const store = openLocalStore(s.remote);
  try {
    const o = s.objects[0]!;
    const wrong = { hash: "0123456789abcdef0123456789abcdef", scheme: "md5" as const };
    const key = "files/md5/01/23456789abcdef0123456789abcdef";
    await assert.rejects(
      store.put(key, o.path, { expect: wrong, size: o.bytes.length }),
      (e: unknown) => e instanceof CorruptError && /instead of '0123456789abcdef/.test(e.message),
    );
    assert.equal(existsSync(join(s.remote, key)), false, "no object under the wrong name");
    assert.deepEqual(readdirSync(join(s.remote, "files/md5/01")), [], "no temp file left");
    // The same bytes planted under the wrong name on the remote are refused on the way back.
    writeFileSync(join(s.remote, key), o.bytes);
    const dest = join(s.dir, "back", "object");
    mkdirSync(join(s.dir, "back"));
    await assert.rejects(store.get(key, dest, { expect: wrong }), CorruptError);
    assert.deepEqual(readdirSync(join(s.dir, "back")), [], "nothing written, no temp left");
  } finally {
    await store.close();
    s.cleanup();
  }
});

Deno.test("a disk that fills up during the thread's copy fails the put with ENOSPC and leaves nothing", async () => {
  if (!isRoot()) {
    console.warn("skipped: mounting a small tmpfs needs root");
    return;
  }
  const s = storeScratch(1, 24 * MIB);
  mkdirSync(s.remote);
  // 12 MiB of room for a 24 MiB object: the thread's writes fail half-way.
  const mounted = run("mount", ["-t", "tmpfs", "-o", "size=12m", "tmpfs", s.remote]).code === 0;
  const store = openLocalStore(s.remote);
  try {
    if (!mounted) {
      console.warn("skipped: this machine cannot mount tmpfs");
      return;
    }
    const o = s.objects[0]!;
    let told = 0;
    await assert.rejects(
      store.put(o.key, o.path, {
        expect: { hash: o.md5, scheme: "md5" },
        size: o.bytes.length,
        onBytes: (n) => (told += n),
      }),
      (e: unknown) =>
        e instanceof StoreError && /no space left on the device \(ENOSPC\)/.test(e.message) &&
        e.message.includes(o.key),
    );
    assert.ok(told > 0 && told < o.bytes.length, `failed part-way (${told} bytes told)`);
    assert.deepEqual(
      readdirSync(s.remote, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()),
      [],
      "no object and no temp file",
    );
  } finally {
    await store.close();
    if (mounted) run("umount", [s.remote]);
    s.cleanup();
  }
});
