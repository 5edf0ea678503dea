import assert from "node:assert/strict";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { cacheHas } from "../lib/cache/cache_has.ts";
import { openCache } from "../lib/cache/cache.ts";
import { cacheObjectPath, cachePaths } from "../lib/cache/layout.ts";
import { CorruptError } from "../lib/errors/mod.ts";
import { openLocalStore } from "../lib/store/local.ts";
import { objectKey } from "../lib/core/object_key.ts";
import { transfer } from "../lib/transfer/queue.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

const BAR = "37b51d194a7513e45b56f6524f2d51f2"; // md5("bar")

Deno.test("cacheObjectPath() gives DVC 3.x, legacy and .dir paths", () => {
  assert.equal(
    cacheObjectPath("/r/.dvc/cache", BAR, "md5"),
    "/r/.dvc/cache/files/md5/37/b51d194a7513e45b56f6524f2d51f2",
  );
  assert.equal(
    cacheObjectPath("/r/.dvc/cache", BAR, "md5-dos2unix"),
    "/r/.dvc/cache/37/b51d194a7513e45b56f6524f2d51f2",
  );
  assert.equal(
    cacheObjectPath("/c", "6b18131dc289fd37006705affe961ef8.dir", "md5"),
    "/c/files/md5/6b/18131dc289fd37006705affe961ef8.dir",
  );
  assert.deepEqual(cachePaths("/c"), { root: "/c", files: "/c/files/md5", runs: "/c/runs" });
});

Deno.test("cacheObjectPath() refuses an oid that could name another path", () => {
  for (const oid of ["../../../etc/passwd", "37B51D194A7513E45B56F6524F2D51F2", "ab", `${BAR}/x`]) {
    assert.throws(() => cacheObjectPath("/c", oid, "md5"), CorruptError, oid);
  }
});

Deno.test("cache.store.put() writes objects 0444 in folders 0777 & ~umask", async () => {
  const { dir, cleanup } = await scratch("dxp-cache-");
  try {
    const cache = openCache({ dir: join(dir, "cache") });
    await writeFile(join(dir, "bar"), "bar");
    await cache.store.put(objectKey(BAR, "md5"), join(dir, "bar"), {
      expect: { hash: BAR, scheme: "md5" },
    });
    const path = cache.objectPath(BAR, "md5");
    assert.equal((await stat(path)).mode & 0o7777, 0o444);
    const umask = process.umask();
    assert.equal(
      (await stat(join(dir, "cache", "files", "md5", "37"))).mode & 0o7777,
      0o777 & ~umask,
    );
    assert.equal(await cache.has(BAR, "md5"), true);
  } finally {
    await cleanup();
  }
});

Deno.test("a cache with shared = group makes folders 02775 and objects 0444", async () => {
  const { dir, cleanup } = await scratch("dxp-cache-");
  try {
    const cache = openCache({ dir: join(dir, "cache"), shared: "group" });
    assert.equal(cache.sharedGroup, true);
    await writeFile(join(dir, "bar"), "bar");
    await cache.store.put(objectKey(BAR, "md5"), join(dir, "bar"), {});
    for (const folder of ["cache", "cache/files", "cache/files/md5", "cache/files/md5/37"]) {
      assert.equal((await stat(join(dir, folder))).mode & 0o7777, 0o2775, folder);
    }
    assert.equal((await stat(cache.objectPath(BAR, "md5"))).mode & 0o7777, 0o444);

    // Downloads into the cache go through the hooks: folder made 02775 first, object protected after.
    const remote = openLocalStore(join(dir, "remote"));
    const foo = hashBytes(new TextEncoder().encode("foo"));
    await writeFile(join(dir, "foo"), "foo");
    await remote.put(objectKey(foo, "md5-dos2unix"), join(dir, "foo"), {});
    const report = await transfer([{
      key: objectKey(foo, "md5-dos2unix"),
      localPath: cache.objectPath(foo, "md5-dos2unix"),
      size: 3,
      expect: { hash: foo, scheme: "md5-dos2unix" },
      direction: "download",
    }], {
      store: remote,
      beforeDownload: cache.beforeDownload,
      afterDownload: cache.afterDownload,
    });
    assert.equal(report.done.length, 1);
    assert.equal((await stat(join(dir, "cache", foo.slice(0, 2)))).mode & 0o7777, 0o2775);
    assert.equal((await stat(cache.objectPath(foo, "md5-dos2unix"))).mode & 0o7777, 0o444);
  } finally {
    await cleanup();
  }
});

Deno.test("cacheHas() trusts 0444, re-hashes other modes and removes corrupt objects", async () => {
  const { dir, cleanup } = await scratch("dxp-cache-");
  try {
    const path = cacheObjectPath(dir, BAR, "md5");
    await mkdir(join(path, ".."), { recursive: true });

    // Wrong bytes but protected: trusted without reading, exactly like DVC.
    await writeFile(path, "not bar");
    await chmod(path, 0o444);
    assert.equal(await cacheHas(dir, BAR, "md5"), true);

    // Wrong bytes, writable: re-hashed, found corrupt, deleted.
    await chmod(path, 0o644);
    assert.equal(await cacheHas(dir, BAR, "md5"), false);
    assert.deepEqual(await readdir(join(path, "..")), []);

    // Right bytes, writable: re-hashed, kept and protected.
    await writeFile(path, "bar", { mode: 0o664 });
    assert.equal(await cacheHas(dir, BAR, "md5"), true);
    assert.equal((await stat(path)).mode & 0o7777, 0o444);

    assert.equal(await cacheHas(dir, "0".repeat(32), "md5"), false);
  } finally {
    await cleanup();
  }
});

Deno.test("cacheHas() re-hashes a legacy object with the dos2unix scheme", async () => {
  const { dir, cleanup } = await scratch("dxp-cache-");
  try {
    const legacy = hashBytes(new TextEncoder().encode("a\nb\n"));
    const path = cacheObjectPath(dir, legacy, "md5-dos2unix");
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, "a\r\nb\r\n", { mode: 0o644 });
    assert.equal(await cacheHas(dir, legacy, "md5-dos2unix"), true);
    assert.equal(await readFile(path, "utf8"), "a\r\nb\r\n");
  } finally {
    await cleanup();
  }
});

Deno.test("the queue pulls every object of DVC's own remote into a fresh cache, verified", async () => {
  const { dir, cleanup } = await scratch("dxp-cache-");
  try {
    const root = extractFixture("basic", dir);
    const remote = openLocalStore(join(root, "dvcstore"));
    const keys: string[] = [];
    for await (const key of remote.list("files/md5/")) keys.push(key);
    assert.ok(keys.length > 20);
    // Pull everything into an empty cache through the queue, then compare bytes.
    const cache = openCache({ dir: join(dir, "fresh-cache") });
    const report = await transfer(
      keys.map((key) => {
        const oid = key.slice("files/md5/".length).replace("/", "");
        return {
          key,
          localPath: cache.objectPath(oid, "md5"),
          size: 0,
          expect: { hash: oid, scheme: "md5" as const },
          direction: "download" as const,
        };
      }),
      { store: remote, afterDownload: cache.afterDownload },
    );
    assert.equal(report.done.length, keys.length, String(report.failed[0]?.error));
    for (const key of keys) {
      const oid = key.slice("files/md5/".length).replace("/", "");
      assert.equal(await remote.exists(key), true);
      assert.equal(await cache.has(oid, "md5"), true);
      assert.deepEqual(
        await readFile(cache.objectPath(oid, "md5")),
        await readFile(join(root, "dvcstore", key)),
      );
    }
  } finally {
    await cleanup();
  }
});
