import assert from "node:assert/strict";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, UnsafePathError } from "../lib/errors/mod.ts";
import { createLocalStore, openLocalStore } from "../lib/store/local.ts";
import { isTempName, tempNameFor } from "../lib/store/local_write.ts";
import { run, scratch } from "./helpers/tmp.ts";
import { canMountTmpfs } from "./helpers/tmpfs.ts";
import { storeSuite } from "./store_suite.ts";

/**
 * Root may mount: the store then lives on a private 256 MiB tmpfs that the
 * fault fills up mid-write (ENOSPC), the way a full disk breaks a put.
 * Without that right the put's fault is a short read of the source instead.
 */
storeSuite("local", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  const root = join(dir, "store");
  mkdirSync(root);
  const mounted = canMountTmpfs() &&
    run("mount", ["-t", "tmpfs", "-o", "size=256m,mode=0755", "tmpfs", root]).code === 0;
  const saved = new Map<string, Uint8Array>();
  const filler = join(root, "filler");
  return {
    store: openLocalStore(root),
    remote: { type: "", url: root, options: {}, env: {} },
    async teardown() {
      if (mounted) run("umount", [root]);
      await cleanup();
    },
    // list() hides temp files; the suite must see them to prove none is left.
    rawEntries: async () =>
      (await readdir(root, { recursive: true, withFileTypes: true }))
        .filter((entry) => !entry.isDirectory())
        .map((entry) => entry.name),
    medium: {
      break(operation, key, localPath) {
        if (operation === "put" && mounted) return fillUp(filler);
        // A file that shrinks while it is read: the object (get) or the source (put).
        const victim = operation === "get" ? join(root, key) : localPath;
        saved.set(victim, readFileSync(victim));
        chmodSync(victim, 0o644);
        truncateSync(victim, 1024);
      },
      async repair() {
        rmSync(filler, { force: true });
        for (const [path, bytes] of saved) {
          chmodSync(path, 0o644);
          writeFileSync(path, bytes);
          if (path.startsWith(root)) chmodSync(path, 0o444);
        }
        saved.clear();
        await Promise.resolve();
      },
      error: {
        put: mounted ? /no space left on the device \(ENOSPC\)/ : /has md5 '[0-9a-f]+' instead of/,
        get: /has md5 '[0-9a-f]+' instead of/,
      },
    },
  };
}, { faults: "medium" });

/** Writes to `path` until the file system is full. */
function fillUp(path: string): void {
  const block = new Uint8Array(1024 * 1024);
  const fd = openSync(path, "w");
  try {
    for (;;) {
      try {
        writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOSPC") return;
        throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const BAR = "37b51d194a7513e45b56f6524f2d51f2"; // md5("bar")
const BAR_KEY = `files/md5/37/${BAR.slice(2)}`;

Deno.test("local put() protects objects 0444 but keeps run-cache files plain and overwritable", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  try {
    const store = createLocalStore(pathToFileURL(join(dir, "remote")).href, {}, { env: {} });
    await writeFile(join(dir, "bar"), "bar");
    await store.put(BAR_KEY, join(dir, "bar"), { expect: { hash: BAR, scheme: "md5" } });
    assert.equal((await stat(join(dir, "remote", BAR_KEY))).mode & 0o7777, 0o444);
    const run = "runs/ab/abcd/ef01";
    await store.put(run, join(dir, "bar"), {});
    await writeFile(join(dir, "bar2"), "bar, again");
    await store.put(run, join(dir, "bar2"), {});
    assert.equal(await readFile(join(dir, "remote", run), "utf8"), "bar, again");
    assert.notEqual((await stat(join(dir, "remote", run))).mode & 0o7777, 0o444);
  } finally {
    await cleanup();
  }
});

Deno.test("local put() leaves a protected object alone and replaces an unprotected corrupt one", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  try {
    const store = openLocalStore(join(dir, "remote"));
    const target = join(dir, "remote", BAR_KEY);
    await mkdir(join(target, ".."), { recursive: true });
    await writeFile(join(dir, "bar"), "bar");
    await writeFile(target, "garbage", { mode: 0o644 });
    await store.put(BAR_KEY, join(dir, "bar"), { expect: { hash: BAR, scheme: "md5" } });
    assert.equal(await readFile(target, "utf8"), "bar");
    assert.equal((await stat(target)).mode & 0o7777, 0o444);
    // 0444 is trusted as is (DVC's rule): the store does not even read it.
    await chmod(target, 0o644);
    await writeFile(target, "garbage");
    await chmod(target, 0o444);
    await store.put(BAR_KEY, join(dir, "bar"), { expect: { hash: BAR, scheme: "md5" } });
    assert.equal(await readFile(target, "utf8"), "garbage");
  } finally {
    await cleanup();
  }
});

Deno.test("local exists() re-hashes an unprotected object and deletes it when corrupt", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  try {
    const store = openLocalStore(dir);
    const target = join(dir, BAR_KEY);
    await mkdir(join(target, ".."), { recursive: true });
    await writeFile(target, "bar", { mode: 0o644 });
    assert.equal(await store.exists(BAR_KEY), true);
    assert.equal((await stat(target)).mode & 0o7777, 0o444);
    await chmod(target, 0o600);
    await writeFile(target, "rab");
    assert.equal(await store.exists(BAR_KEY), false);
    assert.deepEqual(await readdir(join(target, "..")), []);
  } finally {
    await cleanup();
  }
});

Deno.test("local store refuses relative roots and keys that leave the root", async () => {
  assert.throws(() => createLocalStore("../store", {}, { env: {} }), ConfigError);
  const store = openLocalStore("/nonexistent-root");
  for (const key of ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a/./b"]) {
    await assert.rejects(store.exists(key), UnsafePathError, key);
  }
});

Deno.test("local store with shared = group creates folders 02775", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  try {
    const store = createLocalStore(join(dir, "remote"), { shared: "group" }, { env: {} });
    await writeFile(join(dir, "bar"), "bar");
    await store.put(BAR_KEY, join(dir, "bar"), {});
    for (const folder of ["remote", "remote/files/md5", "remote/files/md5/37"]) {
      assert.equal((await stat(join(dir, folder))).mode & 0o7777, 0o2775, folder);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("temp names follow DVC: '.' + 22 URL-safe base64 characters + '.tmp' beside the target", () => {
  const name = tempNameFor("/store/files/md5/ab/cdef");
  assert.match(name, /^\/store\/files\/md5\/ab\/\.[A-Za-z0-9_-]{22}\.tmp$/);
  assert.equal(isTempName(name), true);
  assert.equal(isTempName("/store/files/md5/ab/cdef"), false);
});

Deno.test("local exists() answers from a missing folder without forgetting what put() then writes", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  try {
    const store = openLocalStore(join(dir, "remote"));
    await writeFile(join(dir, "bar"), "bar");
    // The object's folder does not exist: known missing.
    assert.equal(await store.exists(BAR_KEY), false);
    await store.put(BAR_KEY, join(dir, "bar"), { expect: { hash: BAR, scheme: "md5" } });
    // The same store instance must see what it wrote into the folder it had seen missing.
    assert.equal(await store.exists(BAR_KEY), true);
    // A sibling in that folder, written by someone else, is looked at file by file again.
    const sibling = BAR_KEY.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    assert.equal(await store.exists(sibling), false);
    await writeFile(join(dir, "remote", sibling), "theirs", { mode: 0o444 });
    assert.equal(await store.exists(sibling), true);
    // A second put of what it wrote itself (a retry) writes the same verified bytes again.
    await store.put(BAR_KEY, join(dir, "bar"), { expect: { hash: BAR, scheme: "md5" } });
    assert.equal(await readFile(join(dir, "remote", BAR_KEY), "utf8"), "bar");
    assert.equal((await stat(join(dir, "remote", BAR_KEY))).mode & 0o7777, 0o444);
  } finally {
    await cleanup();
  }
});
