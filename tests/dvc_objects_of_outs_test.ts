import assert from "node:assert/strict";
import { serializeDirManifest } from "../lib/dvc/dir_manifest.ts";
import { dirOid, type DvcOut, objectsOfOuts } from "../lib/dvc/mod.ts";
import { CorruptError, UnsafePathError } from "../lib/errors/mod.ts";

const F = (n: number) => `b${n.toString(16).padStart(31, "0")}`;

const manifest = serializeDirManifest([
  { md5: F(1), relpath: "a" },
  { md5: F(2), relpath: "b/c" },
]);
const DIR = dirOid(manifest);

function out(path: string, hash: string, extra: Partial<DvcOut> = {}): DvcOut {
  return {
    path,
    hash,
    scheme: "md5",
    isDir: hash.endsWith(".dir"),
    cache: true,
    push: true,
    stageFile: "dvc.yaml",
    ...extra,
  };
}

const reader = (oid: string) => Promise.resolve(oid === DIR ? manifest : undefined);

Deno.test("objectsOfOuts() lists each .dir with its members once and shares objects between outputs", async () => {
  const set = await objectsOfOuts(
    [out("d", DIR), out("d2", DIR), out("f", F(1), { size: 5 }), out("g", F(3), { size: 7 })],
    reader,
  );
  assert.deepEqual(set.objects.map((o) => o.key), [
    `files/md5/${DIR.slice(0, 2)}/${DIR.slice(2)}`,
    `files/md5/b0/${F(1).slice(2)}`,
    `files/md5/b0/${F(2).slice(2)}`,
    `files/md5/b0/${F(3).slice(2)}`,
  ]);
  const dir = set.objects[0]!;
  assert.equal(dir.isDir, true);
  assert.deepEqual(dir.members?.map((m) => m.oid), [F(1), F(2)]);
  assert.equal(
    dir.members?.[0],
    set.objects[1],
    "a member and a single-file output are one object",
  );
  assert.equal(set.objects[3]!.size, 7);
});

Deno.test("objectsOfOuts() keeps legacy and 3.x copies of the same oid apart, members inheriting the scheme", async () => {
  const set = await objectsOfOuts(
    [out("d", DIR, { scheme: "md5-dos2unix" }), out("f", F(1))],
    reader,
  );
  assert.deepEqual(set.objects.map((o) => `${o.scheme}:${o.oid}`), [
    `md5-dos2unix:${DIR}`,
    `md5-dos2unix:${F(1)}`,
    `md5-dos2unix:${F(2)}`,
    `md5:${F(1)}`,
  ]);
});

Deno.test("objectsOfOuts() applies push:false and cache:false, each object keeping its output's remote:", async () => {
  const outs = [
    out("plain", F(1)),
    out("local", F(2), { push: false }),
    out("git", F(3), { cache: false }),
    out("pinned", F(4), { remote: "other" }),
    out("pinned-store", F(5), { remote: "store" }),
  ];
  const describe = async (selection: Parameters<typeof objectsOfOuts>[2]) =>
    (await objectsOfOuts(outs, reader, selection)).objects.map((o) =>
      `${o.oid.slice(-1)}@${o.remote ?? "default"}`
    );
  assert.deepEqual(await describe({}), ["1@default", "2@default", "4@other", "5@store"]);
  assert.deepEqual(await describe({ push: true }), ["1@default", "4@other", "5@store"]);
});

Deno.test("objectsOfOuts() reports unreadable manifests and rejects corrupt or unsafe ones", async () => {
  const missing = await objectsOfOuts([out("d", DIR)], () => Promise.resolve(undefined));
  assert.deepEqual(missing.missingManifests.map((o) => o.oid), [DIR]);
  assert.equal(missing.objects[0]!.members, undefined);

  const tampered = new TextEncoder().encode(`[{"md5": "${F(9)}", "relpath": "x"}]`);
  await assert.rejects(
    objectsOfOuts([out("d", DIR)], () => Promise.resolve(tampered)),
    CorruptError,
  );

  const evil = new TextEncoder().encode(`[{"md5": "${F(9)}", "relpath": "../../x"}]`);
  await assert.rejects(
    objectsOfOuts([out("d", dirOid(evil))], () => Promise.resolve(evil)),
    UnsafePathError,
  );
});

Deno.test("objectsOfOuts() reads each manifest once when given a shared manifest map", async () => {
  let reads = 0;
  const counting = (oid: string) => {
    reads++;
    return reader(oid);
  };
  const manifests = new Map();
  await objectsOfOuts([out("d", DIR)], counting, { manifests });
  await objectsOfOuts([out("d", DIR)], counting, { manifests });
  assert.equal(reads, 1);
});
