import { isProtectedMode } from "../store/local_verify.ts";
import { SMALL_FILE } from "../store/local_small.ts";
import { readProtectedNative, writeNewNative } from "../store/local_small_native.ts";
import { CPath, libc } from "../util/libc.ts";
import { isRegularFile, nativeLstatAt } from "../util/quick_lstat.ts";

/** The link types {@link placeFreshNative} makes. */
export type NativeFreshType = "copy" | "hardlink";

/** The stamp of the file {@link placeFreshNative} last placed; overwritten by its next call. */
export const madeStamp = { ino: 0, mtimeMs: 0, size: 0 };

/**
 * The common case of filling a fresh folder (a new directory output built
 * aside, see checkout's `buildFresh`) done with libc calls and no object
 * per call: a trusted (0444) cache object of at most 1 MiB copied into a
 * new file made with O_EXCL (mode `mode`), or hard-linked. For 100,000
 * small files the per-call cost of node:fs is a good part of the checkout.
 * Runs on the main thread and in the checkout's helper thread alike.
 *
 * `src` and `dest` are relative to the open folders `srcDir` and `destDir`
 * (AT_FDCWD for full paths): a job of a fresh output names each file from
 * the cache's and the fresh folder's descriptors, which spares the kernel
 * walking the full paths twice per file (measured: a fifth less time for
 * 100,000 links on tmpfs).
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
  srcDir: number,
  src: string,
  destDir: number,
  dest: string,
  mode: number,
): boolean {
  if (libc === undefined) return false;
  return type === "copy"
    ? copyFresh(srcDir, src, destDir, dest, mode)
    : linkFresh(srcDir, src, destDir, dest);
}

/** True when {@link placeFreshNative} can do anything in this process. */
export function nativeFreshAvailable(): boolean {
  return libc !== undefined;
}

const srcPath = new CPath();
const destPath = new CPath();

function copyFresh(
  srcDir: number,
  src: string,
  destDir: number,
  dest: string,
  mode: number,
): boolean {
  // A trusted (0444) object only: another is re-hashed first (DVC's rule), by the node:fs path.
  const bytes = readProtectedNative(src, SMALL_FILE, srcDir);
  return bytes !== undefined && writeNewNative(dest, bytes, mode, madeStamp, destDir);
}

function linkFresh(srcDir: number, src: string, destDir: number, dest: string): boolean {
  if (!srcPath.set(src) || !destPath.set(dest)) return false;
  const info = nativeLstatAt(srcDir, srcPath);
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
  return libc!.linkat(srcDir, srcPath.bytes, destDir, destPath.bytes, 0) === 0;
}
