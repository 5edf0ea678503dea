import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parsePaxRecords, paxRecords } from "../lib/util/tar_header.ts";
import { readTar, TarError } from "../lib/util/tar_read.ts";
import { TarWriter } from "../lib/util/tar_write.ts";
import { scratch } from "./helpers/tmp.ts";

const LONG = `deep/${"d".repeat(120)}/${"e".repeat(90)}.txt`;
const UNICODE = "résumé über-名前.txt";

async function writeArchive(
  members: { path: string; body: Uint8Array; mode?: number }[],
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const writer = new TarWriter({
    write: (chunk) => {
      parts.push(chunk.slice());
      return Promise.resolve();
    },
  });
  for (const m of members) {
    await writer.add(
      { path: m.path, size: m.body.length, ...(m.mode ? { mode: m.mode } : {}) },
      m.body,
    );
  }
  await writer.end();
  return Buffer.concat(parts);
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function readAll(bytes: Uint8Array, chunk = 7) {
  const out: { path: string; type: string; mode: number; body: Uint8Array }[] = [];
  for await (const entry of readTar(chunksOf(bytes, chunk))) {
    const parts: Uint8Array[] = [];
    for await (const c of entry.body()) parts.push(c.slice());
    out.push({ path: entry.path, type: entry.type, mode: entry.mode, body: Buffer.concat(parts) });
  }
  return out;
}

const enc = new TextEncoder();
const MEMBERS = [
  { path: "a.txt", body: enc.encode("alpha\n"), mode: 0o444 },
  { path: "empty", body: new Uint8Array(0) },
  { path: LONG, body: enc.encode("long name\n") },
  { path: UNICODE, body: enc.encode("unicode\n") },
  { path: "block", body: new Uint8Array(512).fill(7) },
  { path: "bin/x", body: new Uint8Array(1500).map((_, i) => i % 256) },
];

Deno.test("TarWriter's archive is read back by real tar: names (long, non-ASCII), bytes and modes", async () => {
  const { dir, cleanup } = await scratch("dxp-tar-");
  try {
    const archive = join(dir, "x.tar");
    writeFileSync(archive, await writeArchive(MEMBERS));
    const listed = execFileSync("tar", ["-tf", archive], { encoding: "utf8" }).split("\n")
      .filter(Boolean);
    assert.deepEqual(listed, MEMBERS.map((m) => m.path));
    const out = join(dir, "out");
    mkdirSync(out);
    execFileSync("tar", ["-xf", archive, "-C", out]);
    for (const m of MEMBERS) assert.deepEqual(readFileSync(join(out, m.path)), Buffer.from(m.body));
    const verbose = execFileSync("tar", ["-tvf", archive], { encoding: "utf8" });
    assert.match(verbose.split("\n")[0]!, /^-r--r--r-- /);
  } finally {
    await cleanup();
  }
});

Deno.test("readTar() reads its own archives and real tar's (gnu and pax formats), in chunks of any size", async () => {
  const own = await writeArchive(MEMBERS);
  for (const chunk of [1, 7, 512, 100000]) {
    const back = await readAll(own, chunk);
    assert.deepEqual(back.map((e) => e.path), MEMBERS.map((m) => m.path));
    back.forEach((e, i) => assert.deepEqual(e.body, Buffer.from(MEMBERS[i]!.body)));
    assert.equal(back[0]!.mode, 0o444);
  }
  const { dir, cleanup } = await scratch("dxp-tar-");
  try {
    const src = join(dir, "src");
    for (const m of MEMBERS) {
      mkdirSync(join(src, m.path, ".."), { recursive: true });
      writeFileSync(join(src, m.path), m.body);
    }
    for (const format of ["gnu", "pax", "ustar"]) {
      const archive = join(dir, `${format}.tar`);
      const names = format === "ustar" ? ["a.txt", "bin/x"] : MEMBERS.map((m) => m.path);
      execFileSync("tar", [`--format=${format}`, "-cf", archive, "-C", src, ...names]);
      const back = (await readAll(readFileSync(archive), 4096)).filter((e) => e.type === "file");
      assert.deepEqual(back.map((e) => e.path), names, format);
      for (const e of back) {
        assert.deepEqual(e.body, readFileSync(join(src, e.path)), `${format} ${e.path}`);
      }
    }
  } finally {
    await cleanup();
  }
});

Deno.test("readTar() refuses a truncated stream, a bad header checksum and links", async () => {
  const own = await writeArchive(MEMBERS);
  for (const cut of [0, 100, 512, 600, own.length - 1024, own.length - 1]) {
    await assert.rejects(
      readAll(own.subarray(0, cut)),
      (e: unknown) => e instanceof TarError && e.kind === "truncated",
      `cut at ${cut}`,
    );
  }
  const flipped = own.slice();
  flipped[3] = flipped[3]! ^ 1; // inside the first member's name
  await assert.rejects(
    readAll(flipped),
    (e: unknown) => e instanceof TarError && e.kind === "corrupt" && /checksum/.test(e.message),
  );
  const { dir, cleanup } = await scratch("dxp-tar-");
  try {
    writeFileSync(join(dir, "target"), "t");
    symlinkSync("target", join(dir, "link"));
    const archive = join(dir, "link.tar");
    execFileSync("tar", ["-cf", archive, "-C", dir, "target", "link"]);
    await assert.rejects(
      readAll(readFileSync(archive)),
      (e: unknown) =>
        e instanceof TarError && e.kind === "unsafe" && /symbolic link/.test(e.message),
    );
    const hard = join(dir, "hard.tar");
    execFileSync("ln", [join(dir, "target"), join(dir, "target2")]);
    execFileSync("tar", ["-cf", hard, "-C", dir, "target", "target2"]);
    await assert.rejects(
      readAll(readFileSync(hard)),
      (e: unknown) => e instanceof TarError && e.kind === "unsafe" && /hard link/.test(e.message),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("pax records: sizes past ustar's 8 GiB and long names survive a round trip", () => {
  const size = 20 * 1024 ** 3;
  const records = parsePaxRecords(paxRecords(LONG, size));
  assert.equal(records.get("path"), LONG);
  assert.equal(records.get("size"), String(size));
  // Each record's length prefix counts the whole record, its own digits included.
  const text = new TextDecoder().decode(paxRecords("x".repeat(90), 1));
  assert.equal(Number(text.split(" ")[0]), new TextEncoder().encode(text).length);
});
