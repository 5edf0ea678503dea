import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { CorruptError } from "../lib/errors/mod.ts";
import { objectKey, parseObjectKey } from "../lib/core/object_key.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

Deno.test("objectKey() uses files/md5/ for 3.x and the flat layout for legacy objects", () => {
  assert.equal(
    objectKey("849835d274483dc683eb416d6e4f887d.dir", "md5"),
    "files/md5/84/9835d274483dc683eb416d6e4f887d.dir",
  );
  assert.equal(
    objectKey("c91a9e327386f87c0ebdda4af7d20749", "md5-dos2unix"),
    "c9/1a9e327386f87c0ebdda4af7d20749",
  );
  assert.deepEqual(parseObjectKey("files/md5/84/9835d274483dc683eb416d6e4f887d.dir"), {
    oid: "849835d274483dc683eb416d6e4f887d.dir",
    scheme: "md5",
  });
  assert.deepEqual(parseObjectKey("c9/1a9e327386f87c0ebdda4af7d20749"), {
    oid: "c91a9e327386f87c0ebdda4af7d20749",
    scheme: "md5-dos2unix",
  });
  assert.equal(parseObjectKey("runs/01/0123"), undefined);
});

Deno.test("objectKey() refuses an oid that is not 32 lower-case hex digits", () => {
  for (
    const oid of [
      "../../etc/passwd",
      "ABCDEF0123456789ABCDEF0123456789",
      "abc",
      "849835d274483dc683eb416d6e4f887d.dirx",
    ]
  ) {
    assert.throws(() => objectKey(oid, "md5"), CorruptError, oid);
  }
});

Deno.test("hashBytes() of every fixture cache object equals its name in its layout's scheme", async () => {
  const tmp = await scratch();
  try {
    const seen = { md5: 0, "md5-dos2unix": 0 };
    for (const fixture of ["basic", "legacy"] as const) {
      const root = join(extractFixture(fixture, tmp.dir), "repo", ".dvc", "cache");
      for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
        if (!d.isFile()) continue;
        const key = relative(root, join(d.parentPath, d.name));
        if (key.startsWith("runs/")) continue;
        const parsed = parseObjectKey(key);
        assert.ok(parsed, key);
        const bytes = new Uint8Array(readFileSync(join(root, key)));
        const oid = parsed.oid.replace(/\.dir$/, "");
        assert.equal(hashBytes(bytes, parsed.scheme), oid, key);
        seen[parsed.scheme]++;
      }
    }
    // basic: 76 objects (3.x); legacy: 14 legacy + 2 3.x (result.txt of exp-x and exp-y).
    assert.deepEqual(seen, { md5: 78, "md5-dos2unix": 14 });
  } finally {
    await tmp.cleanup();
  }
});
