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
} from "../util/libc.ts";
import { isRegularFile, quickFstat } from "../util/quick_lstat.ts";
import { isProtectedMode } from "./local_verify.ts";

/**
 * The common case of local_small.ts's synchronous reads and writes through
 * libc: a push or pull of 200,000 small objects makes seven file calls per
 * object, and node:fs's cost per call is a good part of the run. Each
 * function does only what succeeds at once; on any failure it undoes what it
 * did and returns undefined, and the caller does the same through node:fs,
 * which meets the same condition and reports it as it always has. So no
 * error is decided here.
 */

const path = new CPath();
let buffer = new Uint8Array(64 * 1024 + 1);

/**
 * A trusted cache object (regular, 0444, ≤ `limit` bytes), whole; undefined
 * when node:fs must look. `file` is relative to the open folder `dirfd` when
 * one is given.
 */
export function readProtectedNative(
  file: string,
  limit: number,
  dirfd = AT_FDCWD,
): Uint8Array | undefined {
  if (libc === undefined || !path.set(file)) return undefined;
  const fd = libc.openat(dirfd, path.bytes, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const info = quickFstat(fd);
    if (!isRegularFile(info) || !isProtectedMode(info.mode) || info.size > limit) {
      return undefined;
    }
    return readWhole(fd, info.size);
  } finally {
    libc.close(fd);
  }
}

/**
 * A file of at most `limit` bytes whole (`size` when the caller knows it),
 * or "large" for a bigger one; undefined when node:fs must read it (also
 * for one that grew past `size`).
 */
export function readSmallNative(
  file: string,
  limit: number,
  size?: number,
): Uint8Array | "large" | undefined {
  if (libc === undefined || !path.set(file)) return undefined;
  const fd = libc.openat(AT_FDCWD, path.bytes, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const expected = size ?? quickFstat(fd).size;
    if (expected > limit) return "large";
    return readWhole(fd, expected);
  } finally {
    libc.close(fd);
  }
}

/** The stamp of a file {@link writeNewNative} made, when the caller asks for it. */
export interface MadeStamp {
  ino: number;
  mtimeMs: number;
  size: number;
}

/**
 * Makes `file` (which must not exist: O_EXCL) with `bytes` and `mode`, and
 * fills `stamp` with the new file's when given. True when done; false with
 * nothing left behind otherwise. `file` is relative to the open folder
 * `dirfd` when one is given.
 */
export function writeNewNative(
  file: string,
  bytes: Uint8Array,
  mode: number,
  stamp?: MadeStamp,
  dirfd = AT_FDCWD,
): boolean {
  if (libc === undefined || !path.set(file)) return false;
  const fd = libc.openat(dirfd, path.bytes, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return false;
  let written = writeAll(fd, bytes);
  if (written && stamp !== undefined) {
    const made = quickFstat(fd);
    stamp.ino = made.ino;
    stamp.mtimeMs = made.mtimeMs;
    stamp.size = made.size;
  }
  // A failed close may be a failed write (NFS).
  if (libc.close(fd) !== 0) written = false;
  // `path` still holds `file` (nothing above set it again); a failed unlink means it is gone.
  if (!written) libc.unlinkat(dirfd, path.bytes, 0);
  return written;
}

/** `size` bytes of `fd` into the shared buffer (valid until the next read), or undefined when it has more. */
function readWhole(fd: number, size: number): Uint8Array | undefined {
  if (buffer.length < size + 1) buffer = new Uint8Array(size + 1);
  const length = readExpected(fd, size);
  return length < 0 ? undefined : buffer.subarray(0, length);
}

/**
 * Reads the file behind `fd`, expected to hold `size` bytes, into the shared
 * buffer (room for `size + 1`: one byte more is asked for, so reaching the
 * size is the end without one more call). Its length (less at an early
 * end), or -1 on a failed call or when the file holds more than `size` bytes.
 */
function readExpected(fd: number, size: number): number {
  let total = 0;
  for (;;) {
    const want = size + 1 - total;
    const n = libc!.read(fd, total === 0 ? buffer : buffer.subarray(total), want);
    if (n < 0) return -1;
    if (n === 0) return total;
    total += n;
    if (total > size) return -1;
    if (total === size) return total;
  }
}

/** Writes all of `bytes` to `fd`; false on a failed call. */
function writeAll(fd: number, bytes: Uint8Array): boolean {
  let offset = 0;
  while (offset < bytes.length) {
    const n = libc!.write(fd, offset === 0 ? bytes : bytes.subarray(offset), bytes.length - offset);
    if (n <= 0) return false;
    offset += n;
  }
  return true;
}
