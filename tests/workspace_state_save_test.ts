/**
 * The workspace state is written only when it changed: a no-op checkout or
 * status must not rewrite `.dvc/tmp/dxp/checkout-state.json` (49 bytes a
 * file: 49 MB at a million files), and every real change must reach it.
 */
import assert from "node:assert/strict";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkspaceState } from "../lib/engine/workspace/state.ts";
import { HASH, hashPath } from "../lib/engine/workspace/stamp_table.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";

function scratchDvcDir(): { root: string; dvcDir: string; file: string } {
  const root = mkdtempSync(join(tmpdir(), "dxp-state-"));
  const dvcDir = join(root, ".dvc");
  mkdirSync(dvcDir);
  return { root, dvcDir, file: join(dvcDir, "tmp", "dxp", "checkout-state.json") };
}

/** The inode of the state file: a save writes a new file and renames it over the old one. */
function inode(file: string): number | undefined {
  return lstatSync(file, { throwIfNoEntry: false })?.ino;
}

Deno.test("WorkspaceState.save writes only what changed since it was read", async () => {
  const { root, dvcDir, file } = scratchDvcDir();
  try {
    // Nothing known and nothing learnt: no file made.
    await (await WorkspaceState.load(dvcDir)).save();
    assert.equal(inode(file), undefined);

    const first = await WorkspaceState.load(dvcDir);
    first.recordApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, A, "md5");
    first.outs.set("data", { oid: `${B}.dir`, isDir: true });
    await first.save();
    const written = inode(file);
    assert.notEqual(written, undefined);

    // Read, looked up, the same stamp recorded again, saved: the file stays as it was.
    const again = await WorkspaceState.load(dvcDir);
    assert.equal(again.lookupApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, "md5"), A);
    again.recordApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, A, "md5");
    again.outs.set("data", { oid: `${B}.dir`, isDir: true });
    await again.save();
    assert.equal(inode(file), written, "a no-op does not rewrite the state");

    // Each kind of change is written, and read back.
    const changes: [string, (s: WorkspaceState) => void, (s: WorkspaceState) => void][] = [
      [
        "a new stamp",
        (s) => s.recordApprox("data/a", { ino: 2, mtimeMs: 1000, size: 64 }, A, "md5"),
        (s) =>
          assert.equal(s.lookupApprox("data/a", { ino: 2, mtimeMs: 1000, size: 64 }, "md5"), A),
      ],
      [
        "a forgotten file",
        (s) => s.forget("data/a"),
        (s) =>
          assert.equal(
            s.lookupApprox("data/a", { ino: 2, mtimeMs: 1000, size: 64 }, "md5"),
            undefined,
          ),
      ],
      [
        "another output oid",
        (s) => s.outs.set("data", { oid: `${A}.dir`, isDir: true }),
        (s) => assert.equal(s.outs.get("data")?.oid, `${A}.dir`),
      ],
      [
        "an output dropped",
        (s) => s.outs.delete("data"),
        (s) => assert.equal(s.outs.has("data"), false),
      ],
    ];
    for (const [label, change, check] of changes) {
      const before = inode(file);
      const state = await WorkspaceState.load(dvcDir);
      change(state);
      await state.save();
      assert.notEqual(inode(file), before, `${label}: written`);
      check(await WorkspaceState.load(dvcDir));
      const after = inode(file);
      await (await WorkspaceState.load(dvcDir)).save();
      assert.equal(inode(file), after, `${label}: then a no-op again`);
    }

    // A damaged file is replaced by the next save, even with nothing learnt.
    writeFileSync(file, "dxp-workspace-state 3\n[not json\n");
    const damaged = inode(file);
    await (await WorkspaceState.load(dvcDir)).save();
    assert.notEqual(inode(file), damaged, "a damaged state is rewritten");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** A state file in the layout of dxp before columns: 49-byte little-endian records. */
function recordsLayout(
  outs: string,
  entries: [number, number, number, number, number, string, number][],
): Uint8Array {
  const head = new TextEncoder().encode(`dxp-workspace-state 3\n${outs}\n${entries.length}\n`);
  const bytes = new Uint8Array(head.length + 49 * entries.length);
  bytes.set(head);
  const view = new DataView(bytes.buffer);
  entries.forEach(([hi, lo, ino, mtimeMs, size, oid, flags], i) => {
    const at = head.length + 49 * i;
    view.setUint32(at, hi, true);
    view.setUint32(at + 4, lo, true);
    view.setFloat64(at + 8, ino, true);
    view.setFloat64(at + 16, mtimeMs, true);
    view.setFloat64(at + 24, size, true);
    for (let k = 0; k < 16; k++) bytes[at + 32 + k] = parseInt(oid.slice(2 * k, 2 * k + 2), 16);
    bytes[at + 48] = flags;
  });
  return bytes;
}

Deno.test("WorkspaceState reads the records layout of earlier dxp, and writes columns from then on", async () => {
  const { root, dvcDir, file } = scratchDvcDir();
  try {
    hashPath("data/a");
    const [hi, lo] = [HASH[0]!, HASH[1]!];
    hashPath("data/b");
    mkdirSync(join(dvcDir, "tmp", "dxp"), { recursive: true });
    writeFileSync(
      file,
      recordsLayout(`[["data","${B}.dir"]]`, [
        [hi, lo, 11, 1000.5, 64, A, 0],
        [HASH[0]!, HASH[1]!, 12, 2000, 5, B, 1], // hashed as md5-dos2unix
      ]),
    );
    const old = await WorkspaceState.load(dvcDir);
    assert.equal(old.lookupApprox("data/a", { ino: 11, mtimeMs: 1000.5, size: 64 }, "md5"), A);
    assert.equal(
      old.lookupApprox("data/b", { ino: 12, mtimeMs: 2000, size: 5 }, "md5-dos2unix"),
      B,
    );
    assert.equal(old.outs.get("data")?.oid, `${B}.dir`);

    // Nothing learnt, yet rewritten once as columns; from then on a no-op writes nothing.
    await old.save();
    assert.match(new TextDecoder("latin1").decode(readFileSync(file)), /^dxp-workspace-state 4 /);
    const converted = inode(file);
    await (await WorkspaceState.load(dvcDir)).save();
    assert.equal(inode(file), converted);

    const later = await WorkspaceState.load(dvcDir);
    later.recordApprox("data/c", { ino: 13, mtimeMs: 3000, size: 1 }, A, "md5");
    await later.save();
    const text = new TextDecoder("latin1").decode(readFileSync(file));
    assert.match(text, /^dxp-workspace-state 4 (le|be)\n/);
    assert.equal(readFileSync(file).length, text.indexOf("\n3\n") + 3 + 3 * 49);
    const now = await WorkspaceState.load(dvcDir);
    assert.equal(now.lookupApprox("data/a", { ino: 11, mtimeMs: 1000.5, size: 64 }, "md5"), A);
    assert.equal(
      now.lookupApprox("data/b", { ino: 12, mtimeMs: 2000, size: 5 }, "md5-dos2unix"),
      B,
    );
    assert.equal(now.lookupApprox("data/c", { ino: 13, mtimeMs: 3000, size: 1 }, "md5"), A);
    assert.equal(now.outs.get("data")?.oid, `${B}.dir`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("WorkspaceState: columns cut short, or in the other byte order, are an empty state (files are hashed again), never misread", async () => {
  const { root, dvcDir, file } = scratchDvcDir();
  try {
    const state = await WorkspaceState.load(dvcDir);
    for (let i = 0; i < 100; i++) {
      state.recordApprox(`data/f${i}`, { ino: i + 1, mtimeMs: 1000, size: 64 }, A, "md5");
    }
    state.outs.set("data", { oid: `${B}.dir`, isDir: true });
    await state.save();
    const whole = readFileSync(file);
    assert.equal((await WorkspaceState.load(dvcDir)).files.size, 100);

    writeFileSync(file, whole.subarray(0, whole.length - 1));
    const short = await WorkspaceState.load(dvcDir);
    assert.equal(short.files.size, 0);
    assert.equal(short.outs.size, 0);

    const text = new TextDecoder("latin1").decode(whole);
    const other = text.startsWith("dxp-workspace-state 4 le\n") ? "be" : "le";
    const swapped = new Uint8Array(whole);
    swapped.set(new TextEncoder().encode(other), "dxp-workspace-state 4 ".length);
    writeFileSync(file, swapped);
    assert.equal((await WorkspaceState.load(dvcDir)).files.size, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("WorkspaceState: a state path that cannot be read stops the load with one line naming it", async () => {
  const { root, dvcDir, file } = scratchDvcDir();
  try {
    mkdirSync(join(file, "in-the-way"), { recursive: true });
    await assert.rejects(
      WorkspaceState.load(dvcDir),
      (error: Error) =>
        error.message.includes(`Cannot read dxp's workspace state '${file}' (EISDIR)`) &&
        error.message.includes("remove it") && !error.message.includes("\n"),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("WorkspaceState.save that cannot put the file in place rejects and leaves no temp file", async () => {
  const { root, dvcDir, file } = scratchDvcDir();
  try {
    const state = await WorkspaceState.load(dvcDir);
    state.recordApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, A, "md5");
    // A folder with something in it where the file goes: the rename fails.
    mkdirSync(join(file, "in-the-way"), { recursive: true });
    const saving = state.save(); // a failure comes as a rejection, not a throw
    await assert.rejects(saving, (error: NodeJS.ErrnoException) => error.code !== undefined);
    assert.deepEqual(readdirSync(join(dvcDir, "tmp", "dxp")), ["checkout-state.json"]);
    assert.deepEqual(readdirSync(file), ["in-the-way"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
