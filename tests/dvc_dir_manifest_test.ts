import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { UnsafePathError } from "../lib/errors/mod.ts";
import { CorruptError } from "../lib/errors/mod.ts";
import { dirOid, parseDirManifest, serializeDirManifest } from "../lib/dvc/dir_manifest.ts";
import { BATCH, FIRST_BATCH, scanFile } from "../lib/dvc/dir_manifest_scan.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const E = "d41d8cd98f00b204e9800998ecf8427e";

Deno.test("serializeDirManifest() reproduces the spec's worked examples byte for byte", () => {
  const features = serializeDirManifest([
    { md5: "3b5d5c3712955042212316173ccf37be", relpath: "sub/b.txt" },
    { md5: "60b725f10c9c85c70d97880dfe8191b3", relpath: "a.txt" },
  ]);
  assert.equal(
    text(features),
    '[{"md5": "60b725f10c9c85c70d97880dfe8191b3", "relpath": "a.txt"}, {"md5": "3b5d5c3712955042212316173ccf37be", "relpath": "sub/b.txt"}]',
  );
  assert.equal(dirOid(features), "849835d274483dc683eb416d6e4f887d.dir");
  const oneTwo = serializeDirManifest([
    { md5: "f97c5d29941bfb1b2fdab0874906ab82", relpath: "one" },
    { md5: "b8a9f715dbb64fd5c56e7783c6820a61", relpath: "two" },
  ]);
  assert.equal(dirOid(oneTwo), "6b18131dc289fd37006705affe961ef8.dir");
  assert.equal(text(serializeDirManifest([])), "[]");
  assert.equal(dirOid(serializeDirManifest([])), "d751713988987e9331980363e24189ce.dir");
});

Deno.test("serializeDirManifest() sorts by code point and escapes like Python json.dumps", () => {
  const names = [
    "z\u{1F600}.txt",
    "z\uffff.txt",
    "a-b",
    "a/b",
    "a0",
    'q"uote\\back',
    "t\tab\x01\x7f",
    "résumé über-名前.txt",
  ];
  const bytes = serializeDirManifest(names.map((relpath) => ({ md5: E, relpath })));
  // Expected bytes and md5 from CPython 3: json.dumps(sorted(..., key=relpath), sort_keys=True).
  const expected = [
    "a-b",
    "a/b",
    "a0",
    'q\\"uote\\\\back',
    "r\\u00e9sum\\u00e9 \\u00fcber-\\u540d\\u524d.txt",
    "t\\tab\\u0001\\u007f",
    "z\\uffff.txt",
    "z\\ud83d\\ude00.txt",
  ].map((r) => `{"md5": "${E}", "relpath": "${r}"}`);
  assert.equal(text(bytes), `[${expected.join(", ")}]`);
  assert.equal(dirOid(bytes), "c47109826e74e3ee7795a261243f681d.dir");
});

Deno.test("parseDirManifest() refuses relpaths that could escape the output directory", () => {
  for (
    const relpath of [
      "/etc/passwd",
      "../x",
      "a/../../x",
      "a/..",
      "a\0b",
      "a\\b",
      "C:/x",
      "c:x",
      "",
      "a//b",
      "./a",
    ]
  ) {
    const bytes = new TextEncoder().encode(JSON.stringify([{ md5: E, relpath }]));
    assert.throws(() => parseDirManifest(bytes), UnsafePathError, JSON.stringify(relpath));
  }
});

Deno.test("parseDirManifest() rejects what is not a manifest with CorruptError", () => {
  for (
    const body of [
      "{}",
      "[1]",
      '[{"md5": "xyz", "relpath": "a"}]',
      '[{"relpath": "a"}]',
      "not json",
      `[{"md5": "${E}"}]`,
    ]
  ) {
    assert.throws(() => parseDirManifest(new TextEncoder().encode(body)), CorruptError, body);
  }
  const dup = JSON.stringify([{ md5: E, relpath: "a" }, { md5: E, relpath: "a" }]);
  assert.throws(() => parseDirManifest(new TextEncoder().encode(dup)), CorruptError);
  assert.deepEqual(
    parseDirManifest(new TextEncoder().encode(`[{"md5": "${E.toUpperCase()}", "relpath": "a"}]`)),
    [
      { md5: E, relpath: "a" },
    ],
  );
});

Deno.test("every .dir object in both fixtures' caches re-serializes byte-identically and hashes to its name", async () => {
  const tmp = await scratch();
  try {
    let count = 0;
    for (const fixture of ["basic", "legacy"] as const) {
      const cache = join(extractFixture(fixture, tmp.dir), "repo", ".dvc", "cache");
      const files = readdirSync(cache, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile() && d.name.endsWith(".dir"))
        .map((d) => join(d.parentPath, d.name));
      for (const file of files) {
        const bytes = new Uint8Array(readFileSync(file));
        const name = relative(cache, file).replace(/^files\/md5\//, "").replace("/", "");
        assert.equal(dirOid(bytes), name, file);
        const entries = parseDirManifest(bytes);
        assert.ok(entries.length > 0);
        assert.deepEqual(serializeDirManifest(entries), bytes, file);
        assert.deepEqual(
          serializeDirManifest([...entries].reverse()),
          bytes,
          `${file} (order-independent)`,
        );
        count++;
      }
    }
    assert.equal(count, 7, "basic has 6 .dir objects, legacy 1");
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("scanFile() hands out a small first batch, then full ones, every entry once in order", async () => {
  const dir = await scratch("dxp-scan-");
  try {
    const count = FIRST_BATCH + BATCH + 10;
    const entries = Array.from({ length: count }, (_, i) => ({
      md5: i.toString(16).padStart(32, "0"),
      relpath: `d/f${String(i).padStart(6, "0")}`,
    }));
    const path = join(dir.dir, "m.dir");
    writeFileSync(path, serializeDirManifest(entries));
    const batches = [...scanFile(path)];
    assert.deepEqual(batches.map((b) => [b.start, b.md5.length]), [
      [0, FIRST_BATCH],
      [FIRST_BATCH, BATCH],
      [FIRST_BATCH + BATCH, 10],
    ]);
    assert.deepEqual(batches.flatMap((b) => b.relpath), entries.map((e) => e.relpath));
    assert.deepEqual(batches.flatMap((b) => b.md5), entries.map((e) => e.md5));
  } finally {
    await dir.cleanup();
  }
});
