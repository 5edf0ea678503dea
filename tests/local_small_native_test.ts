/**
 * The libc fast path of the local store's small reads and writes: what it
 * answers itself, and every case it must leave to node:fs (undefined /
 * false) without leaving anything behind.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  readProtectedNative,
  readSmallNative,
  writeNewNative,
} from "../lib/store/local_small_native.ts";
import { libc } from "../lib/util/libc.ts";

const LIMIT = 1024;

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "dxp-small-native-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function file(dir: string, name: string, bytes: string | Uint8Array, mode = 0o444): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  chmodSync(path, mode);
  return path;
}

const text = (bytes: Uint8Array | string | undefined) =>
  bytes instanceof Uint8Array ? new TextDecoder().decode(bytes) : bytes;

Deno.test("libc is loaded on this Linux (else every test below proves nothing)", () => {
  assert.equal(libc !== undefined, process.platform === "linux");
});

Deno.test("readProtectedNative reads a trusted object whole and leaves everything else to node:fs", () => {
  withDir((dir) => {
    assert.equal(text(readProtectedNative(file(dir, "ok", "object\n"), LIMIT)), "object\n");
    assert.equal(text(readProtectedNative(file(dir, "empty", ""), LIMIT)), "");
    const exact = new Uint8Array(LIMIT).fill(7);
    assert.deepEqual(readProtectedNative(file(dir, "exact", exact), LIMIT), exact);
    assert.equal(readProtectedNative(file(dir, "loose", "x", 0o644), LIMIT), undefined);
    assert.equal(
      readProtectedNative(file(dir, "big", new Uint8Array(LIMIT + 1)), LIMIT),
      undefined,
    );
    assert.equal(readProtectedNative(join(dir, "missing"), LIMIT), undefined);
    symlinkSync(join(dir, "ok"), join(dir, "link"));
    assert.equal(readProtectedNative(join(dir, "link"), LIMIT), undefined);
    mkdirSync(join(dir, "folder"));
    chmodSync(join(dir, "folder"), 0o444);
    assert.equal(readProtectedNative(join(dir, "folder"), LIMIT), undefined);
    chmodSync(join(dir, "folder"), 0o755);
    assert.equal(readProtectedNative(join(dir, "ok\0x"), LIMIT), undefined);
  });
});

Deno.test("readSmallNative reads small files whole, says 'large' past the limit, leaves the rest to node:fs", () => {
  withDir((dir) => {
    const ok = file(dir, "ok", "hello\n", 0o644);
    assert.equal(text(readSmallNative(ok, LIMIT)), "hello\n");
    assert.equal(text(readSmallNative(ok, LIMIT, 6)), "hello\n", "with the size known");
    assert.equal(text(readSmallNative(ok, LIMIT, 10)), "hello\n", "shorter than said: its end");
    assert.equal(readSmallNative(ok, LIMIT, 3), undefined, "longer than said: node:fs streams it");
    assert.equal(readSmallNative(file(dir, "big", new Uint8Array(LIMIT + 1)), LIMIT), "large");
    assert.equal(readSmallNative(join(dir, "missing"), LIMIT), undefined);
    const unreadable = file(dir, "unreadable", "x", 0o000);
    if (process.getuid?.() !== 0) assert.equal(readSmallNative(unreadable, LIMIT), undefined);
  });
});

Deno.test("writeNewNative makes a new file with its mode, never over an existing one, never in a missing folder", () => {
  withDir((dir) => {
    const path = join(dir, "new");
    assert.equal(writeNewNative(path, new TextEncoder().encode("fresh\n"), 0o444), true);
    assert.equal(readFileSync(path, "utf8"), "fresh\n");
    assert.equal(lstatSync(path).mode & 0o777, 0o444 & ~process.umask());
    const big = new Uint8Array(300_000).map((_, i) => i % 253);
    assert.equal(writeNewNative(join(dir, "big"), big, 0o644), true);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, "big"))), big);
    assert.equal(writeNewNative(join(dir, "empty"), new Uint8Array(0), 0o644), true);
    assert.equal(readFileSync(join(dir, "empty")).length, 0);

    const taken = file(dir, "taken", "someone else's\n", 0o644);
    assert.equal(writeNewNative(taken, new TextEncoder().encode("mine"), 0o444), false);
    assert.equal(readFileSync(taken, "utf8"), "someone else's\n");
    assert.equal(writeNewNative(join(dir, "no", "such"), new Uint8Array(1), 0o444), false);
    assert.equal(writeNewNative(join(dir, "a\0b"), new Uint8Array(1), 0o444), false);
    assert.deepEqual(readdirSync(dir).sort(), ["big", "empty", "new", "taken"]);
  });
});
