/**
 * The local store's synchronous small-object path (Store.small): objects
 * written into a folder that did not exist wait in a hidden folder and
 * become visible all at once on publish(); nothing under a final name is
 * ever partial or unverified.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CorruptError } from "../lib/errors/mod.ts";
import { openLocalStore } from "../lib/store/local.ts";
import { isTempName } from "../lib/store/local_write.ts";
import { STALE_HIDDEN_MS } from "../lib/store/local_staging.ts";
import type { SmallObjects } from "../lib/store/types.ts";
import { scratch } from "./helpers/tmp.ts";

function object(text: string): { key: string; bytes: Uint8Array; md5: string } {
  const bytes = new TextEncoder().encode(text);
  const md5 = createHash("md5").update(bytes).digest("hex");
  return { key: `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`, bytes, md5 };
}

function write(small: SmallObjects, o: { key: string; bytes: Uint8Array; md5: string }): void {
  small.writeSync(o.key, o.bytes, {
    expect: { hash: o.md5, scheme: "md5" },
    sourceLabel: "'test bytes'",
  });
}

/** Every entry under `dir`, relative, sorted (hidden ones included). */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

Deno.test("small.writeSync into a missing folder shows nothing until publish(), then every object 0444", async () => {
  const { dir, cleanup } = await scratch("dxp-small-");
  try {
    const root = join(dir, "remote");
    const small = openLocalStore(root).small!;
    const a = object("alpha"), b = object("beta");
    write(small, a);
    write(small, b);
    for (const o of [a, b]) {
      assert.equal(existsSync(join(root, o.key)), false, `${o.key} visible before publish`);
      assert.equal(small.existsSync(o.key), false);
    }
    const md5Dir = join(root, "files", "md5");
    const hidden = readdirSync(md5Dir).filter(isTempName);
    assert.equal(hidden.length, 2, `one hidden folder per object folder: ${tree(md5Dir)}`);

    small.publish();
    for (const o of [a, b]) {
      const path = join(root, o.key);
      assert.deepEqual(readFileSync(path), Buffer.from(o.bytes));
      assert.equal(statSync(path).mode & 0o7777, 0o444);
      assert.equal(small.existsSync(o.key), true);
    }
    assert.deepEqual(readdirSync(md5Dir).filter(isTempName), [], "hidden folders left");
  } finally {
    await cleanup();
  }
});

Deno.test("publish() moves files one by one into a folder another writer made meanwhile", async () => {
  const { dir, cleanup } = await scratch("dxp-small-");
  try {
    const root = join(dir, "remote");
    const small = openLocalStore(root).small!;
    const mine = object("mine");
    write(small, mine);
    // Another process creates the same folder with an object of its own.
    const folder = join(root, mine.key, "..");
    mkdirSync(folder, { recursive: true });
    const theirs = join(folder, "f".repeat(30));
    writeFileSync(theirs, "someone else's", { mode: 0o444 });

    small.publish();
    assert.deepEqual(readFileSync(join(root, mine.key)), Buffer.from(mine.bytes));
    assert.equal(readFileSync(theirs, "utf8"), "someone else's");
    assert.deepEqual(readdirSync(join(root, "files", "md5")).filter(isTempName), []);
  } finally {
    await cleanup();
  }
});

Deno.test("small.writeSync refuses bytes that do not match their name and leaves no file", async () => {
  const { dir, cleanup } = await scratch("dxp-small-");
  try {
    const root = join(dir, "remote");
    const small = openLocalStore(root).small!;
    const good = object("good");
    assert.throws(
      () =>
        small.writeSync(good.key, new TextEncoder().encode("evil"), {
          expect: { hash: good.md5, scheme: "md5" },
          sourceLabel: "'evil bytes'",
        }),
      (e: unknown) => e instanceof CorruptError && /'evil bytes' has md5/.test(e.message),
    );
    small.publish();
    const files = existsSync(root)
      ? tree(root).filter((p) => statSync(join(root, p)).isFile())
      : [];
    assert.deepEqual(files, []);
  } finally {
    await cleanup();
  }
});

Deno.test("a hidden folder a dead run left a day ago is removed; a young one (a live run's) is kept", async () => {
  const { dir, cleanup } = await scratch("dxp-small-");
  try {
    const root = join(dir, "remote");
    const md5Dir = join(root, "files", "md5");
    const dead = join(md5Dir, ".AAAAAAAAAAAAAAAAAAAAAA.tmp");
    const live = join(md5Dir, ".BBBBBBBBBBBBBBBBBBBBBB.tmp");
    for (const folder of [dead, live]) {
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "0".repeat(30)), "partial");
    }
    const old = (Date.now() - STALE_HIDDEN_MS - 60_000) / 1000;
    utimesSync(dead, old, old);

    const small = openLocalStore(root).small!;
    write(small, object("new"));
    small.publish();
    assert.equal(existsSync(dead), false, "the dead run's folder stays");
    assert.equal(existsSync(join(live, "0".repeat(30))), true, "a live run's folder was removed");
  } finally {
    await cleanup();
  }
});

Deno.test("small.writeSync into an existing folder writes through a temp name and skips a protected object", async () => {
  const { dir, cleanup } = await scratch("dxp-small-");
  try {
    const root = join(dir, "remote");
    const o = object("present");
    const path = join(root, o.key);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, o.bytes, { mode: 0o444 });
    const before = statSync(path);
    const small = openLocalStore(root).small!;
    write(small, o);
    assert.equal(statSync(path).ino, before.ino, "a protected object was rewritten");

    const sibling = object(findSameFolder(o.md5.slice(0, 2)));
    write(small, sibling);
    // Written straight under its final name (the folder exists): no publish needed.
    assert.deepEqual(readFileSync(join(root, sibling.key)), Buffer.from(sibling.bytes));
    assert.equal(statSync(join(root, sibling.key)).mode & 0o7777, 0o444);
    assert.deepEqual(readdirSync(join(root, "files", "md5")).filter(isTempName), []);
  } finally {
    await cleanup();
  }
});

/** A text whose md5 starts with `prefix` (two hex digits: a few hundred tries). */
function findSameFolder(prefix: string): string {
  for (let i = 0;; i++) {
    const text = `sibling ${i}`;
    if (createHash("md5").update(text).digest("hex").startsWith(prefix)) return text;
  }
}
