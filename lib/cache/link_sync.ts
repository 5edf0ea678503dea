import {
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { chmodSync } from "node:fs";
import { StoreError } from "../errors/mod.ts";
import { isProtectedMode } from "../store/local_verify.ts";
import { SMALL_FILE } from "../store/local_small.ts";
import { tempNameFor } from "../store/local_write.ts";
import { createObjectHasher, type HashScheme } from "../util/object_hasher.ts";
import { oidDigest } from "../core/object_key.ts";
import { madeStamp, placeFreshNative } from "./place_fresh_native.ts";
import { AT_FDCWD } from "../util/libc.ts";
import { LINK_THIS_FILE_ONLY, LINK_UNSUPPORTED, type LinkType } from "./link_types.ts";

/** What a file placed by {@link placeSync} is now: the stamp to remember for it. */
export interface Placed {
  readonly type: LinkType;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

/**
 * The outcome of {@link placeSync}: the file placed; `"missing"` when the
 * cache object is not there (or was corrupt and has been removed, as DVC's
 * cache check does); `"large"` for a copy of a file too big to make without
 * yielding (the caller uses the linker's async `place`).
 */
export type SyncPlacement = Placed | "missing" | "large";

/** What {@link placeSync} needs to know about one file. */
export interface SyncPlaceOptions {
  /** The object's oid and scheme: an unprotected cache file is re-hashed against them. */
  readonly oid: string;
  readonly scheme: HashScheme;
  readonly isexec?: boolean;
  /**
   * `dest` is known not to exist (a fresh folder being filled): the file is
   * made straight under its name. Otherwise a copy goes through a temporary
   * name and a rename, and a link through one when `dest` exists.
   */
  readonly fresh: boolean;
}

/** The link types still tried and the modes of copies, shared with the linker's async `place`. */
export interface SyncLinkState {
  readonly enabled: LinkType[];
  readonly fileMode: number;
  readonly execMode: number;
  readonly types: readonly LinkType[];
}

let buffer = new Uint8Array(64 * 1024);

/**
 * Puts cache object `src` at `dest` with the first link type that works,
 * with synchronous system calls only: for the many small files of a
 * dataset, an async call per step costs several times the copy itself.
 * `dest` never holds a partial file: a copy is written whole under a
 * temporary name (or in a fresh folder no one sees yet, `fresh`), a link
 * appears in one step.
 */
export function placeSync(
  state: SyncLinkState,
  src: string,
  dest: string,
  options: SyncPlaceOptions,
): SyncPlacement {
  const first = state.enabled[0];
  if (first === "copy" || first === "hardlink") {
    const placed = placeNative(
      first,
      src,
      dest,
      options.fresh,
      options.isexec ? state.execMode : state.fileMode,
    );
    if (placed !== undefined) return placed;
  }
  // A copy reads the object anyway: open it first and fstat the descriptor,
  // rather than lstat then open (the path looked up once, not twice).
  const fd = first === "copy" ? openObject(src) : undefined;
  if (fd === "missing") return "missing";
  try {
    return placeFrom(state, src, dest, options, fd);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The common case through libc (see place_fresh_native.ts): into a fresh
 * folder the file is made under its name; over a workspace file a copy is
 * made under a temporary name and renamed over it, and a link is made only
 * where nothing is (else the node:fs path replaces it). Undefined whenever
 * the node:fs path must do it, with nothing left behind.
 */
function placeNative(
  type: "copy" | "hardlink",
  src: string,
  dest: string,
  fresh: boolean,
  mode: number,
): Placed | undefined {
  if (fresh || type === "hardlink") {
    return placeFreshNative(type, AT_FDCWD, src, AT_FDCWD, dest, mode)
      ? { type, ...madeStamp }
      : undefined;
  }
  const temp = tempNameFor(dest);
  if (!placeFreshNative(type, AT_FDCWD, src, AT_FDCWD, temp, mode)) return undefined;
  const placed = { type, ...madeStamp };
  try {
    // A rename keeps the inode and its mtime: the stamp stays true.
    renameSync(temp, dest);
    return placed;
  } catch {
    try {
      unlinkSync(temp);
    } catch { /* already gone */ }
    return undefined;
  }
}

function placeFrom(
  state: SyncLinkState,
  src: string,
  dest: string,
  options: SyncPlaceOptions,
  fd: number | undefined,
): SyncPlacement {
  const info = fd === undefined ? lstatSync(src, { throwIfNoEntry: false }) : fstatSync(fd);
  if (info === undefined || !info.isFile()) return "missing";
  const size = info.size;
  const trusted = isProtectedMode(info.mode);
  let bytes: Uint8Array | undefined;
  const read = (): Uint8Array | "missing" => {
    bytes ??= fd === undefined ? readWhole(src, size) : readFd(fd, size);
    return bytes ?? "missing";
  };
  if (!trusted) {
    // DVC's rule: only a 0444 object is trusted as is; another is re-hashed.
    if (size > SMALL_FILE) return "large";
    const content = read();
    if (content === "missing") return "missing";
    const hasher = createObjectHasher(options.scheme);
    hasher.update(content);
    if (hasher.digest() !== oidDigest(options.oid)) {
      try {
        unlinkSync(src);
      } catch { /* gone already */ }
      return "missing";
    }
    try {
      chmodSync(src, 0o444);
    } catch { /* not ours to protect */ }
  }
  let lastError: unknown;
  for (const type of [...state.enabled]) {
    if (type === "copy" && size > SMALL_FILE) return "large";
    try {
      const placed = placeAs(type, state, src, dest, options, size, info, read);
      if (placed === "missing") return "missing";
      return placed;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      if (
        code === "ENOENT" && !options.fresh &&
        lstatSync(src, { throwIfNoEntry: false }) === undefined
      ) {
        return "missing";
      }
      if (type === "copy" || (!LINK_UNSUPPORTED.has(code) && !LINK_THIS_FILE_ONLY.has(code))) {
        throw linkError(src, dest, error);
      }
      lastError = error;
      const at = state.enabled.indexOf(type);
      if (LINK_UNSUPPORTED.has(code) && at >= 0) state.enabled.splice(at, 1);
    }
  }
  throw new StoreError(
    `Cannot create '${dest.slice(dest.lastIndexOf("/") + 1)}' with any cache.type (${
      state.types.join(", ")
    }); add 'copy' to cache.type or put the cache on the same file system.`,
    { cause: lastError },
  );
}

function placeAs(
  type: LinkType,
  state: SyncLinkState,
  src: string,
  dest: string,
  options: SyncPlaceOptions,
  size: number,
  info: { ino: number; mtimeMs: number; size: number },
  read: () => Uint8Array | "missing",
): Placed | "missing" {
  const mode = options.isexec ? state.execMode : state.fileMode;
  switch (type) {
    case "copy":
    case "reflink": {
      let content: Uint8Array | undefined;
      if (type === "copy") {
        const got = read();
        if (got === "missing") return "missing";
        content = got;
      }
      return throughTemp(dest, options.fresh, (target) => {
        if (content === undefined) {
          copyFileSync(src, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
          chmodSync(target, mode);
          const st = lstatSync(target);
          return { type, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
        }
        return writeNew(target, content, mode, type);
      });
    }
    case "hardlink":
      // Thousands of empty files would hit the link limit of one inode: DVC
      // writes them as plain empty files instead.
      if (size === 0) {
        return throughTemp(dest, options.fresh, (t) => writeNew(t, new Uint8Array(0), mode, type));
      }
      linkOrReplace(dest, options.fresh, (target) => linkSync(src, target));
      return { type, ino: info.ino, mtimeMs: info.mtimeMs, size: info.size };
    case "symlink": {
      linkOrReplace(dest, options.fresh, (target) => symlinkSync(src, target));
      // Never looked up by stamp: a symlink is recognised by where it points.
      return { type, ino: -1, mtimeMs: 0, size: 0 };
    }
  }
}

/** Writes `content` into a new file `target` (O_EXCL) and returns its stamp. */
function writeNew(target: string, content: Uint8Array, mode: number, type: LinkType): Placed {
  const fd = openSync(target, "wx", mode);
  try {
    let offset = 0;
    while (offset < content.length) {
      offset += writeSync(fd, content, offset, content.length - offset);
    }
    const st = fstatSync(fd);
    return { type, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
  } finally {
    closeSync(fd);
  }
}

/** Makes a file with `make(target)`: straight under `dest` when fresh, else a temp name renamed over it. */
function throughTemp(dest: string, fresh: boolean, make: (target: string) => Placed): Placed {
  if (fresh) {
    try {
      return make(dest);
    } catch (error) {
      try {
        unlinkSync(dest);
      } catch { /* never made */ }
      throw error;
    }
  }
  const temp = tempNameFor(dest);
  try {
    const placed = make(temp);
    renameSync(temp, dest);
    return placed;
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch { /* never made or renamed */ }
    throw error;
  }
}

/** A link appears whole: made under `dest` when free, else beside it and renamed over it. */
function linkOrReplace(dest: string, fresh: boolean, link: (target: string) => void): void {
  try {
    link(dest);
    return;
  } catch (error) {
    if (fresh || (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const temp = tempNameFor(dest);
  try {
    link(temp);
    renameSync(temp, dest);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch { /* never made or renamed */ }
    throw error;
  }
}

/** A cache object opened for reading (not through a symlink), or "missing". */
function openObject(path: string): number | "missing" {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ELOOP: a symlink, which lstat would have shown as no file.
    if (code === "ENOENT" || code === "ELOOP") return "missing";
    throw error;
  }
}

/** The whole file (at most {@link SMALL_FILE} bytes), or undefined when it vanished. */
function readWhole(path: string, size: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return readFd(fd, size);
  } finally {
    closeSync(fd);
  }
}

/** The whole file behind `fd`, expected to be about `size` bytes. */
function readFd(fd: number, size: number): Uint8Array {
  if (buffer.length < size + 1) buffer = new Uint8Array(Math.max(size + 1, buffer.length * 2));
  let total = 0;
  // The buffer has room for one byte more than the size: a short read is the end.
  for (;;) {
    const want = buffer.length - total;
    const n = readSync(fd, buffer, total, want, null);
    if (n === 0) break;
    total += n;
    if (n < want) break;
    if (total === buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
  }
  return buffer.subarray(0, total);
}

function linkError(src: string, dest: string, error: unknown): StoreError {
  const code = (error as NodeJS.ErrnoException).code ?? "error";
  return new StoreError(`Cannot write '${dest}' from the cache object '${src}' (${code}).`, {
    cause: error,
  });
}
