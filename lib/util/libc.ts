import { constants } from "node:fs";
import process from "node:process";

/**
 * A few of Linux's file system calls straight from libc, for loops that
 * make one to three calls per file over hundreds of thousands of files
 * (checkout, status of a big directory output): node:fs reaches the same
 * calls through more layers and makes an object per call. Loaded once per
 * process through the running engine's foreign-function interface
 * (`bun:ffi` in the compiled binary, `Deno.dlopen` under `deno test`);
 * undefined elsewhere or when libc cannot be opened, and callers then use
 * node:fs. Every call returns what the C function returns (-1 on failure);
 * callers that fail answer by doing the same thing through node:fs, so an
 * error always means what it means there and errno is never read here.
 *
 * Paths go in as NUL-terminated bytes ({@link CPath}). Results declared
 * `i32` where C returns `ssize_t`: the counts asked for here stay far below
 * 2³¹, and a 64-bit integer result would be a BigInt (garbage) per call.
 */
export interface Libc {
  readonly library: string;
  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, out: Uint8Array): number;
  openat(dirfd: number, path: Uint8Array, flags: number, mode: number): number;
  read(fd: number, buffer: Uint8Array, count: number): number;
  write(fd: number, buffer: Uint8Array, count: number): number;
  close(fd: number): number;
  linkat(
    olddirfd: number,
    oldpath: Uint8Array,
    newdirfd: number,
    newpath: Uint8Array,
    flags: number,
  ): number;
  unlinkat(dirfd: number, path: Uint8Array, flags: number): number;
}

// <fcntl.h> values for {@link Libc} calls. node:fs has most of them, per
// architecture (O_NOFOLLOW differs between x86-64 and aarch64); the rest are
// the same on both, the only architectures libc is loaded on.
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
export const O_RDONLY = constants.O_RDONLY;
export const O_WRONLY = constants.O_WRONLY;
export const O_CREAT = constants.O_CREAT;
export const O_EXCL = constants.O_EXCL;
export const O_NOFOLLOW = constants.O_NOFOLLOW;
export const O_DIRECTORY = constants.O_DIRECTORY;
/** Not in node's constants. */
export const O_CLOEXEC = 0o2000000;
/** Only a handle to look names up under; not in node's constants. */
export const O_PATH = 0o10000000;

/** The C signatures, in the engine-neutral form both loaders below translate. */
const SIGNATURES = {
  statx: { args: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  openat: { args: ["i32", "buffer", "i32", "u32"], result: "i32" },
  read: { args: ["i32", "buffer", "usize"], result: "i32" },
  write: { args: ["i32", "buffer", "usize"], result: "i32" },
  close: { args: ["i32"], result: "i32" },
  linkat: { args: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  unlinkat: { args: ["i32", "buffer", "i32"], result: "i32" },
} as const;

type SymbolName = keyof typeof SIGNATURES;

/** libc in this process, or undefined where node:fs must do the work. */
export const libc: Libc | undefined = loadLibc();

function loadLibc(): Libc | undefined {
  if (process.platform !== "linux") return undefined;
  // O_CLOEXEC and O_PATH differ on a few architectures: only these two are known.
  if (process.arch !== "x64" && process.arch !== "arm64") return undefined;
  for (const library of ["libc.so.6", "libc.so"]) {
    let symbols: Record<SymbolName, unknown> | undefined;
    try {
      symbols = openLibrary(library);
    } catch {
      symbols = undefined; // no such library, a symbol missing, or no permission to load it
    }
    if (symbols !== undefined) return bind(library, symbols);
  }
  return undefined;
}

function bind(library: string, symbols: Record<SymbolName, unknown>): Libc {
  const s = symbols as unknown as Omit<Libc, "library">;
  return {
    library,
    statx: s.statx,
    openat: s.openat,
    read: s.read,
    write: s.write,
    close: s.close,
    linkat: s.linkat,
    unlinkat: s.unlinkat,
  };
}

function openLibrary(library: string): Record<SymbolName, unknown> | undefined {
  const bunRequire = (import.meta as { require?: (id: string) => unknown }).require;
  if (typeof bunRequire === "function" && "Bun" in globalThis) {
    const ffi = bunRequire("bun:ffi") as BunFfi;
    const wanted: Record<string, { args: string[]; returns: string }> = {};
    for (const [name, s] of Object.entries(SIGNATURES)) {
      // Bun's name for a pointer to a typed array's bytes is "ptr".
      wanted[name] = { args: s.args.map((a) => a === "buffer" ? "ptr" : a), returns: s.result };
    }
    return ffi.dlopen(library, wanted).symbols as Record<SymbolName, unknown>;
  }
  const deno = (globalThis as unknown as { Deno?: DenoFfi }).Deno;
  if (deno?.dlopen !== undefined) {
    const wanted: Record<string, { parameters: string[]; result: string }> = {};
    for (const [name, s] of Object.entries(SIGNATURES)) {
      wanted[name] = { parameters: [...s.args], result: s.result };
    }
    return deno.dlopen(library, wanted).symbols as Record<SymbolName, unknown>;
  }
  return undefined;
}

/** Room for PATH_MAX bytes and the terminating NUL. */
const PATH_BYTES = 4097;

/**
 * One reusable NUL-terminated path for {@link Libc} calls. {@link set}
 * returns false for a path libc must not be given: empty, too long, or with
 * a NUL inside (which would end it early; node:fs refuses such a path, so
 * the caller's node:fs answer does too).
 */
export class CPath {
  readonly bytes = new Uint8Array(PATH_BYTES);

  set(path: string): boolean {
    if (path.length === 0 || path.includes("\0")) return false;
    const { read, written } = encoder.encodeInto(path, this.bytes);
    if (read !== path.length || written >= PATH_BYTES) return false;
    this.bytes[written] = 0;
    return true;
  }
}

const encoder = new TextEncoder();

interface BunFfi {
  dlopen(
    library: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, unknown> };
}

interface DenoFfi {
  dlopen?(
    library: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, unknown> };
}
