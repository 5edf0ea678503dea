import { unlinkSync } from "node:fs";
import { isProtectedMode } from "../store/local_verify.ts";
import { SMALL_FILE } from "../store/local_small.ts";
import {
  AT_FDCWD,
  CPath,
  libc,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_WRONLY,
  readExpected,
  writeAll,
} from "../util/libc.ts";
import { isRegularFile, quickFstat, quickLstat } from "../util/quick_lstat.ts";

/** The link types {@link placeFreshNative} makes. */
export type NativeFreshType = "copy" | "hardlink";

/** The stamp of the file {@link placeFreshNative} last placed; overwritten by its next call. */
export const madeStamp = { ino: 0, mtimeMs: 0, size: 0 };

/**
 * The common case of filling a fresh folder (a new directory output built
 * aside, see checkout's `writeFresh`) done with libc calls and no object
 * per call: a trusted (0444) cache object of at most 1 MiB copied into a
 * new file made with O_EXCL (mode `mode`), or hard-linked. For 100,000
 * small files the per-call cost of node:fs is a good part of the checkout.
 * Runs on the main thread and in the checkout's helper thread alike.
 *
 * Returns true with the new file's stamp in {@link madeStamp}. Returns
 * false for anything else, and whenever a call fails, having removed what
 * it made: the caller then places the file through node:fs from scratch,
 * which meets the same condition and reports it as it always has (a
 * missing object, a link the file system refuses, a full disk). So this
 * path never decides an error.
 */
export function placeFreshNative(
  type: NativeFreshType,
  src: string,
  dest: string,
  mode: number,
): boolean {
  if (libc === undefined) return false;
  if (!srcPath.set(src) || !destPath.set(dest)) return false;
  return type === "copy" ? copyFresh(dest, mode) : linkFresh(src);
}

/** True when {@link placeFreshNative} can do anything in this process. */
export function nativeFreshAvailable(): boolean {
  return libc !== undefined;
}

const srcPath = new CPath();
const destPath = new CPath();
let buffer = new Uint8Array(64 * 1024);

function copyFresh(dest: string, mode: number): boolean {
  const c = libc!;
  // O_NOFOLLOW: a symlink in the cache is no object (lstat would not call it a file).
  const from = c.openat(AT_FDCWD, srcPath.bytes, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (from < 0) return false;
  try {
    const info = quickFstat(from);
    // An unprotected object is re-hashed first (DVC's rule): the node:fs path does that.
    if (!isRegularFile(info) || !isProtectedMode(info.mode) || info.size > SMALL_FILE) {
      return false;
    }
    if (buffer.length < info.size + 1) buffer = new Uint8Array(info.size + 1);
    // A file that grew past its size is no trusted object: the node:fs path sorts it out.
    const length = readExpected(c, from, buffer, info.size);
    if (length < 0) return false;
    const to = c.openat(AT_FDCWD, destPath.bytes, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (to < 0) return false;
    let placed = false;
    try {
      if (writeAll(c, to, buffer, length)) {
        const made = quickFstat(to);
        madeStamp.ino = made.ino;
        madeStamp.mtimeMs = made.mtimeMs;
        madeStamp.size = made.size;
        placed = true;
      }
    } finally {
      // A failed close may be a failed write (NFS): not placed either.
      if (c.close(to) !== 0) placed = false;
      if (!placed) removeQuietly(dest);
    }
    return placed;
  } finally {
    c.close(from);
  }
}

function linkFresh(src: string): boolean {
  const info = quickLstat(src);
  // Empty files are written, not linked (the link limit of one inode), and
  // an unprotected object is re-hashed first: both by the node:fs path.
  if (
    info === undefined || !isRegularFile(info) || !isProtectedMode(info.mode) || info.size === 0
  ) {
    return false;
  }
  madeStamp.ino = info.ino;
  madeStamp.mtimeMs = info.mtimeMs;
  madeStamp.size = info.size;
  return libc!.linkat(AT_FDCWD, srcPath.bytes, AT_FDCWD, destPath.bytes, 0) === 0;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch { /* never made */ }
}
