/**
 * Fuzzing packs as a Git server (or a bundle) sends them: pack verification
 * and indexing with deltas, delta application, `.idx` reading and the
 * commit/tree/tag parsers; plus the amplification cases — a delta or a pack
 * entry that declares (or really expands to) gigabytes — which must be
 * refused before the memory is taken.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import process from "node:process";
import { deflateSync } from "node:zlib";
import { CorruptError, DxpError, GitRemoteError } from "../lib/errors/mod.ts";
import { applyDelta } from "../lib/git/pack/delta.ts";
import { indexPack } from "../lib/git/pack/index_pack.ts";
import { parseCommit, parseTag, parseTree } from "../lib/git/pack/object_parse.ts";
import { PackIndex } from "../lib/git/pack/pack_index.ts";
import { packEntryHeader } from "../lib/git/pack/build_pack.ts";
import { verifyPack } from "../lib/git/pack/store_pack.ts";
import { commitFiles, initRepo } from "./helpers/git_repo.ts";
import { fc, fuzzTarget, mutatedBytes, utf8 } from "./helpers/fuzz.ts";
import { run, scratch } from "./helpers/tmp.ts";
import { concatBytes } from "../lib/util/bytes.ts";

function gitBytes(repo: string, script: string): Uint8Array {
  const out = run("sh", ["-c", `${script} | base64 -w0`], { cwd: repo });
  assert.equal(out.code, 0, out.stderr);
  return Uint8Array.from(atob(out.stdout), (c) => c.charCodeAt(0));
}

/** Real git packs (ofs deltas, ref deltas, plain) and their .idx files. */
async function samplePacks(): Promise<{ packs: Uint8Array[]; idxs: Uint8Array[] }> {
  const { dir, cleanup } = await scratch("dxp-fuzz-pack-");
  try {
    const repo = initRepo(`${dir}/src`);
    const text = Array.from({ length: 60 }, (_, i) => `line ${i} that deltas well\n`).join("");
    commitFiles(repo, { "a.txt": text, "d/b.txt": "b\n" }, "one");
    const tip = commitFiles(repo, { "a.txt": text + "more\n", "d/c.txt": "c\n" }, "two");
    run("git", ["tag", "-a", "-m", "t", "v1", tip], { cwd: repo });
    const packs: Uint8Array[] = [];
    const idxs: Uint8Array[] = [];
    for (const flag of ["--delta-base-offset", "", "--window=0"]) {
      const pack = gitBytes(
        repo,
        `git rev-list --objects --all | git pack-objects --stdout ${flag}`,
      );
      packs.push(pack);
      const idx = gitBytes(
        repo,
        `git rev-list --objects --all | git pack-objects --stdout ${flag} > p.pack && git index-pack -o p.idx p.pack >/dev/null && cat p.idx`,
      );
      idxs.push(idx);
    }
    return { packs, idxs };
  } finally {
    await cleanup();
  }
}

/** A pack with a recomputed trailer, so mutations get past the checksum into the entries. */
function withTrailer(body: Uint8Array): Uint8Array {
  const head = body.subarray(0, Math.max(0, body.length - 20));
  return concatBytes([head, new Uint8Array(createHash("sha1").update(head).digest())]);
}

function indexAny(pack: Uint8Array): unknown {
  const { objects } = verifyPack(pack);
  return indexPack(pack, objects);
}

const TOKENS = [
  new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), // a huge size varint
  new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
  new Uint8Array([0x78, 0x9c]), // a zlib header
  new Uint8Array([0x60]), // ofs-delta type nibble
  new Uint8Array([0x70]), // ref-delta type nibble
];

Deno.test("fuzz: verifyPack() + indexPack() index a pack or throw dxp's errors", async () => {
  const { packs } = await samplePacks();
  await Promise.resolve();
  fuzzTarget(
    "pack (verify + index)",
    fc.tuple(mutatedBytes(packs, TOKENS), fc.boolean()),
    ([bytes, fix]) => indexAny(fix ? withTrailer(bytes) : bytes),
    {
      check: ([bytes, fix], value) => {
        const pack = fix ? withTrailer(bytes) : bytes;
        const { oids } = value as { oids: string[] };
        assert.equal(oids.length, new DataView(pack.buffer, pack.byteOffset).getUint32(8));
      },
      scale: 0.5,
    },
  );
});

Deno.test("fuzz: PackIndex reads an .idx or throws CorruptError", async () => {
  const { idxs, packs } = await samplePacks();
  fuzzTarget(
    "pack index (.idx)",
    fc.tuple(mutatedBytes(idxs, TOKENS), fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat()),
    ([bytes, oid, offset]) => {
      const index = new PackIndex(bytes, packs[0]!.length, "fuzz.idx");
      const at = index.find(oid);
      index.entryEnd(offset % (packs[0]!.length + 1));
      return at;
    },
  );
});

Deno.test("fuzz: applyDelta() rebuilds an object or throws CorruptError", () => {
  const base = utf8("0123456789abcdef".repeat(8));
  // copy 0..64, insert "xyz", copy 64..128
  const delta = new Uint8Array([128, 1, 131, 1, 0x90, 64, 3, 0x78, 0x79, 0x7a, 0x91, 64, 64]);
  assert.equal(applyDelta(base, delta).length, 131);
  fuzzTarget(
    "delta",
    mutatedBytes([delta], TOKENS),
    (bytes) => applyDelta(base, bytes),
  );
});

Deno.test("fuzz: parseCommit(), parseTree() and parseTag() parse or throw CorruptError", () => {
  const commit = utf8(
    `tree ${"a".repeat(40)}\nparent ${"b".repeat(40)}\nauthor A <a@b> 1700000000 +0000\n` +
      `committer C <c@d> 1700000000 +0000\n\nmessage\n`,
  );
  const tree = concatBytes([
    utf8("100644 a.txt\0"),
    new Uint8Array(20).fill(1),
    utf8("40000 d\0"),
    new Uint8Array(20).fill(2),
  ]);
  const tag = utf8(`object ${"a".repeat(40)}\ntype commit\ntag v1\ntagger T <t@t> 1 +0000\n\nm\n`);
  fuzzTarget("git objects", mutatedBytes([commit, tree, tag]), (bytes) => {
    const oid = "c".repeat(40);
    for (const parse of [parseCommit, parseTree, parseTag]) {
      try {
        parse(oid, bytes);
      } catch (error) {
        if (!(error instanceof DxpError)) throw error;
      }
    }
  });
});

function packOf(entries: Uint8Array[]): Uint8Array {
  const header = new Uint8Array(12);
  header.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(header.buffer).setUint32(8, entries.length);
  return withTrailer(concatBytes([header, ...entries, new Uint8Array(20)]));
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

function rssMb(): number {
  return process.memoryUsage().rss / 1048576;
}

Deno.test("a delta declaring a 2^40-byte result is refused before anything is allocated", () => {
  const base = new Uint8Array(16);
  const delta = new Uint8Array([...varint(16), ...varint(2 ** 40), 0x90, 16]);
  assert.throws(() => applyDelta(base, delta), CorruptError);
});

Deno.test("a small delta that really expands to many GB is refused before its result is allocated", () => {
  // 100,000 copy instructions of 64 KiB each (one byte apiece): 6.1 GiB from 100 kB.
  const base = new Uint8Array(0x10000);
  const copies = 100_000;
  const ops = new Uint8Array(copies).fill(0x80);
  const delta = concatBytes([
    new Uint8Array([...varint(base.length), ...varint(copies * 0x10000)]),
    ops,
  ]);
  const before = rssMb();
  assert.throws(
    () => applyDelta(base, delta),
    (e) => e instanceof CorruptError && /large/.test(e.message),
  );
  assert.ok(rssMb() - before < 512, "no gigabytes were taken");
});

Deno.test("a pack entry declaring 2^40 bytes is refused, and a zlib bomb stops at its declared size", () => {
  const huge = packOf([concatBytes([packEntryHeader(3, 2 ** 40), deflateSync(utf8("x"))])]);
  assert.throws(() => indexAny(huge), GitRemoteError);
  // 512 MiB of zeros deflate to ~0.5 MB; the entry says 10 bytes.
  const bomb = deflateSync(new Uint8Array(512 * 1048576), { level: 1 });
  const liar = packOf([concatBytes([packEntryHeader(3, 10), bomb])]);
  const before = rssMb();
  assert.throws(
    () => indexAny(liar),
    (e) => e instanceof GitRemoteError && /inflates to more than its 10 bytes/.test(e.message),
  );
  assert.ok(rssMb() - before < 256, "the bomb was not inflated");
});
