import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { createObjectHasher, type HashScheme } from "../util/object_hasher.ts";
import { errnoCode, type FailureContext, storeErrorFromErrno } from "./errors.ts";
import { checkWrittenDigest, tempNameFor } from "./local_write.ts";
import { readProtectedNative, readSmallNative, writeNewNative } from "./local_small_native.ts";

/**
 * Files up to this size are copied with a few synchronous system calls
 * (read whole, hash, write whole): for the many small files of a dataset an
 * async read and write per file cost several times the copy itself. Larger
 * files stream, so reading, hashing and writing overlap.
 */
export const SMALL_FILE = 1024 * 1024;

/** Read buffer shared by every small copy: each runs to completion without yielding. */
let scratch = new Uint8Array(64 * 1024 + 1);

/**
 * The whole content of a local file of at most {@link SMALL_FILE} bytes
 * (one open, fstat, read and close), or undefined when it is larger (or
 * grew while read): the caller streams it instead. The bytes are valid only
 * until the next call. Errors are StoreErrors (ENOENT: not found).
 *
 * `sizeHint`, the size the caller expects (a cache object it has just
 * lstat-ed, a manifest's size), saves the fstat: the read still asks for one
 * byte more, so a bigger file is never cut short (it is streamed instead)
 * and a smaller one ends at its end; callers verify the bytes anyway.
 */
export function readSmallSync(
  path: string,
  context: FailureContext,
  sizeHint?: number,
): Uint8Array | undefined {
  if (sizeHint !== undefined && sizeHint > SMALL_FILE) return undefined;
  const quick = readSmallNative(path, SMALL_FILE, sizeHint);
  if (quick !== undefined) return quick === "large" ? undefined : quick;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw storeErrorFromErrno(error, context);
  }
  try {
    const size = sizeHint ?? fstatSync(fd).size;
    if (size > SMALL_FILE) return undefined;
    return readWhole(fd, size);
  } catch (error) {
    throw storeErrorFromErrno(error, context);
  } finally {
    closeSync(fd);
  }
}

/** The file behind `fd`, expected to be `size` bytes; undefined when it has grown. */
function readWhole(fd: number, size: number): Uint8Array | undefined {
  if (scratch.length < size + 1) scratch = new Uint8Array(SMALL_FILE + 1);
  let total = 0;
  // Reads ask for one byte more than the size seen: reaching that size is a
  // short read, the end, without one more read per file.
  for (;;) {
    const n = readSync(fd, scratch, total, size + 1 - total, null);
    if (n === 0) break;
    total += n;
    if (total > size) return undefined; // it grew: stream it instead
    if (total === size) break;
  }
  return scratch.subarray(0, total);
}

/** Options of {@link writeSmallSync}. */
export interface SmallWriteOptions {
  readonly expect?: { readonly hash: string; readonly scheme: HashScheme } | undefined;
  /** chmod of the file before it gets its name (0o444 protects an object). */
  readonly fileMode?: number | undefined;
  /** Creates a missing folder (called only after an open failed with ENOENT). */
  readonly ensureDirSync: (dir: string) => void;
  readonly context: FailureContext;
  /** Where the bytes come from, for the corruption message. */
  readonly sourceLabel: string;
  /**
   * Write `finalPath` itself, no temp name: its folder is hidden until it is
   * published whole (StagedFolders). A file already there was written whole
   * earlier in this run and is kept.
   */
  readonly inPlace?: boolean;
}

/**
 * Writes `bytes` to `finalPath` the way writeAtomic does, synchronously:
 * checked against `expect` before anything is written (a mismatch writes
 * nothing and throws CorruptError), then a temp file in the same folder,
 * renamed into place. On any failure the temp file is removed.
 */
export function writeSmallSync(
  finalPath: string,
  bytes: Uint8Array,
  options: SmallWriteOptions,
): void {
  if (options.expect) {
    const hasher = createObjectHasher(options.expect.scheme);
    hasher.update(bytes);
    checkWrittenDigest(hasher.digest(), options.expect.hash, options.sourceLabel, finalPath);
  }
  const temp = options.inPlace ? finalPath : tempNameFor(finalPath);
  // Created with its final mode when the umask keeps it whole (the descriptor
  // stays writable): no chmod per file. Otherwise chmod restores it exactly.
  const mode = options.fileMode ?? 0o666;
  const needsChmod = options.fileMode !== undefined && !umaskKeeps(options.fileMode);
  // In a hidden folder nothing needs a temp name: the common case through libc.
  if (options.inPlace && !needsChmod && writeNewNative(temp, bytes, mode)) return;
  let fd: number;
  try {
    try {
      fd = openSync(temp, "wx", mode);
    } catch (error) {
      if (options.inPlace && errnoCode(error) === "EEXIST") return;
      if (errnoCode(error) !== "ENOENT") throw error;
      options.ensureDirSync(dirname(finalPath));
      fd = openSync(temp, "wx", mode);
    }
  } catch (error) {
    throw storeErrorFromErrno(error, options.context);
  }
  let open = true;
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    if (needsChmod) fchmodSync(fd, options.fileMode!);
    open = false;
    closeSync(fd);
    if (temp !== finalPath) renameSync(temp, finalPath);
  } catch (error) {
    if (open) {
      try {
        closeSync(fd);
      } catch { /* already failing */ }
    }
    try {
      unlinkSync(temp);
    } catch { /* never created or already renamed */ }
    throw storeErrorFromErrno(error, options.context);
  }
}

let umask: number | undefined;

/** True when the process umask clears no bit of `mode` (asked once; unknown counts as clearing). */
function umaskKeeps(mode: number): boolean {
  if (umask === undefined) {
    try {
      umask = process.umask();
    } catch {
      umask = 0o777;
    }
  }
  return (mode & umask) === 0;
}

/** What {@link readProtectedSmallSync} found. */
export type ProtectedRead = Uint8Array | "missing" | "other";

/**
 * The bytes of a cache object the cache vouches for (a regular file of mode
 * exactly 0444, spec §4.4.3) of at most {@link SMALL_FILE} bytes: one open,
 * fstat, read and close, where an lstat first would look the path up twice.
 * "missing" when there is no such file; "other" when the caller must take
 * the slow road (another mode to re-hash, a symlink, a larger file, any
 * other error). The bytes are valid only until the next call.
 */
export function readProtectedSmallSync(path: string): ProtectedRead {
  const quick = readProtectedNative(path, SMALL_FILE);
  if (quick !== undefined) return quick;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return errnoCode(error) === "ENOENT" ? "missing" : "other";
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || (info.mode & 0o7777) !== 0o444 || info.size > SMALL_FILE) return "other";
    const bytes = readWhole(fd, info.size);
    return bytes ?? "other";
  } catch {
    return "other";
  } finally {
    closeSync(fd);
  }
}
