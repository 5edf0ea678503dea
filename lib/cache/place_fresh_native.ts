import { isProtectedMode } from "../store/local_verify.ts";
import { SMALL_FILE } from "../store/local_small.ts";
import { readProtectedNative, writeNewNative } from "../store/local_small_native.ts";
import { AT_FDCWD, CPath, libc } from "../util/libc.ts";
import { isRegularFile, quickLstat } from "../util/quick_lstat.ts";

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
  return type === "copy" ? copyFresh(src, dest, mode) : linkFresh(src, dest);
}

/** True when {@link placeFreshNative} can do anything in this process. */
export function nativeFreshAvailable(): boolean {
  return libc !== undefined;
}

const srcPath = new CPath();
const destPath = new CPath();

function copyFresh(src: string, dest: string, mode: number): boolean {
  // A trusted (0444) object only: another is re-hashed first (DVC's rule), by the node:fs path.
  const bytes = readProtectedNative(src, SMALL_FILE);
  return bytes !== undefined && writeNewNative(dest, bytes, mode, madeStamp);
}

function linkFresh(src: string, dest: string): boolean {
  if (!srcPath.set(src) || !destPath.set(dest)) return false;
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
