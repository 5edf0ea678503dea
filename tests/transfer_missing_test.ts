import assert from "node:assert/strict";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openLocalStore } from "../lib/store/local.ts";
import { objectKey } from "../lib/core/object_key.ts";
import type { Store } from "../lib/store/types.ts";
import { missingOn } from "../lib/transfer/missing.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { faultStore } from "./transfer_fault_store.ts";
import { scratch } from "./helpers/tmp.ts";

/** Puts `count` distinct objects into `store`; returns their keys. */
async function fill(store: Store, dir: string, count: number, tag: string): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = new TextEncoder().encode(`${tag} ${i}`);
    const key = objectKey(hashBytes(bytes), "md5");
    const path = join(dir, `${tag}-${i}`);
    await writeFile(path, bytes);
    await store.put(key, path, {});
    keys.push(key);
  }
  return keys;
}

function keysOf(tag: string, count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => objectKey(hashBytes(new TextEncoder().encode(`${tag} ${i}`)), "md5"),
  );
}

Deno.test("missingOn() asks per key when there are few keys", async () => {
  const { dir, cleanup } = await scratch("dxp-missing-");
  try {
    const store = faultStore(openLocalStore(join(dir, "remote")));
    store.canList = true;
    const present = await fill(store, dir, 3, "here");
    store.calls.length = 0;
    const absent = keysOf("gone", 2);
    const missing = await missingOn(store, [...present, ...absent]);
    assert.deepEqual([...missing].sort(), absent.sort());
    assert.equal(store.calls.filter((c) => c.operation === "exists").length, 5);
    assert.equal(store.calls.filter((c) => c.operation === "list").length, 0);
  } finally {
    await cleanup();
  }
});

Deno.test("missingOn() lists the folders involved when many keys and listing is cheap", async () => {
  const { dir, cleanup } = await scratch("dxp-missing-");
  try {
    const store = faultStore(openLocalStore(join(dir, "remote")));
    store.canList = true;
    const present = await fill(store, dir, 300, "here");
    store.calls.length = 0;
    const absent = keysOf("gone", 300);
    const missing = await missingOn(store, [...present, ...absent], { jobs: 4 });
    assert.deepEqual([...missing].sort(), absent.sort());
    assert.equal(store.calls.filter((c) => c.operation === "exists").length, 0);
    const listed = store.calls.filter((c) => c.operation === "list").map((c) => c.key);
    const folders = new Set([...present, ...absent].map((k) => k.slice(0, 13)));
    assert.deepEqual(new Set(listed), folders);
    assert.equal(listed.length, folders.size);
  } finally {
    await cleanup();
  }
});

Deno.test("missingOn() asks per key when a store cannot list", async () => {
  const { dir, cleanup } = await scratch("dxp-missing-");
  try {
    const store = faultStore(openLocalStore(join(dir, "remote")));
    store.canList = false;
    const present = await fill(store, dir, 40, "here");
    store.calls.length = 0;
    const missing = await missingOn(store, [...present, ...keysOf("gone", 40)]);
    assert.equal(missing.size, 40);
    assert.equal(store.calls.filter((c) => c.operation === "exists").length, 80);
  } finally {
    await cleanup();
  }
});

Deno.test("missingOn() assumes the members of a present .dir and checks those of a missing one", async () => {
  const { dir, cleanup } = await scratch("dxp-missing-");
  try {
    const store = faultStore(openLocalStore(join(dir, "remote")));
    const manifest = join(dir, "manifest");
    await writeFile(manifest, "[]");
    const dirKey = objectKey(`${hashBytes(new TextEncoder().encode("[]"))}.dir`, "md5");
    await store.put(dirKey, manifest, {});
    const absentDir = objectKey(`${"e".repeat(32)}.dir`, "md5");
    const members = keysOf("member", 5); // not on the store, but vouched for by the .dir
    const others = keysOf("other", 3);
    store.calls.length = 0;
    const missing = await missingOn(store, [dirKey, ...members, absentDir, ...others], {
      dirMembers: new Map([[dirKey, members], [absentDir, others]]),
    });
    assert.deepEqual([...missing].sort(), [absentDir, ...others].sort());
    const asked = store.calls.map((c) => c.key);
    assert.equal(asked.some((k) => members.includes(k)), false);
    assert.ok(asked.indexOf(dirKey) < asked.indexOf(others[0]!));
  } finally {
    await cleanup();
  }
});

Deno.test("missingOn() remembers positive answers across calls", async () => {
  const { dir, cleanup } = await scratch("dxp-missing-");
  try {
    const store = faultStore(openLocalStore(join(dir, "remote")));
    const present = await fill(store, dir, 4, "here");
    const absent = keysOf("gone", 2);
    const memo = new Set<string>();
    await missingOn(store, [...present, ...absent], { memo });
    store.calls.length = 0;
    const again = await missingOn(store, [...present, ...absent], { memo });
    assert.deepEqual([...again].sort(), absent.sort());
    assert.deepEqual(store.calls.map((c) => c.key).sort(), absent.sort());
  } finally {
    await cleanup();
  }
});

Deno.test("missingOn() on a local remote counts a corrupt unprotected object as missing and removes it", async () => {
  const { dir, cleanup } = await scratch("dxp-missing-");
  try {
    const store = openLocalStore(join(dir, "remote"));
    const [good, bad] = await fill(store, dir, 2, "obj");
    const badPath = join(dir, "remote", bad!);
    await chmod(badPath, 0o644);
    await writeFile(badPath, "tampered");
    const missing = await missingOn(store, [good!, bad!]);
    assert.deepEqual([...missing], [bad]);
    assert.equal(await store.exists(bad!), false);
  } finally {
    await cleanup();
  }
});
