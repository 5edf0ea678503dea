import { randomBase64url } from "../util/digest.ts";
import { mkdirSync } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, sep } from "node:path";
import { CorruptError } from "../errors/mod.ts";
import { createObjectHasher, type HashScheme } from "../util/object_hasher.ts";
import { type FailureContext, storeErrorFromErrno } from "./errors.ts";
import { throwIfAborted } from "./abort.ts";
import { oidDigest } from "../core/object_key.ts";
import { closeFd, fchmodFd, openExclusive, writeFully } from "./fd_io.ts";

/** Options of {@link writeAtomic}. */
export interface AtomicWriteOptions {
  readonly expect?: { readonly hash: string; readonly scheme: HashScheme } | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onBytes?: ((bytes: number) => void) | undefined;
  /** chmod applied to the temp file before the rename (0o444 protects an object). */
  readonly fileMode?: number | undefined;
  /**
   * Creates missing parent folders, synchronously (the temp file is made in
   * the caller's turn: an async maker would not have made the folder when
   * the open is retried); defaults to `mkdir -p` with `0777 & ~umask`.
   */
  readonly ensureDirSync?: ((dir: string) => void) | undefined;
  /** What is being written, for messages: "download 'files/md5/ab/…' from '/mnt/store'". */
  readonly context: FailureContext;
  /** Where the bytes come from, for the corruption message. */
  readonly sourceLabel: string;
}

/**
 * Refuses bytes whose digest is not the one their object name promises,
 * before they are renamed into place (the caller removes its temp file).
 */
export function checkWrittenDigest(
  actual: string,
  expectedHash: string,
  sourceLabel: string,
  finalPath: string,
): void {
  const wanted = oidDigest(expectedHash);
  if (actual === wanted) return;
  throw new CorruptError(
    `${sourceLabel} has md5 '${actual}' instead of '${wanted}'; ` +
      `nothing was written to '${finalPath}'.`,
    { data: { expected: wanted, actual, path: finalPath } },
  );
}

/**
 * DVC's temp name (spec §4.5): `.` + 22 URL-safe base64 characters + `.tmp`,
 * in the destination folder so the final rename is atomic. The characters
 * are 16 random ones drawn once per process and a 6-character counter:
 * unique like 16 random bytes per file, without their cost (a random draw
 * per file was a tenth of the time of copying many small files).
 */
export function tempNameFor(finalPath: string): string {
  const slash = finalPath.lastIndexOf(sep);
  const dir = slash < 0 ? "." : finalPath.slice(0, slash === 0 ? 1 : slash);
  return `${dir === "/" ? "" : dir}${sep}.${uniqueTempStem()}.tmp`;
}

let tempPrefix = "";
let tempCounter = 0;

/** 22 URL-safe base64 characters, different on every call within and across processes. */
export function uniqueTempStem(): string {
  if (tempPrefix === "" || tempCounter >= 64 ** 6) {
    tempPrefix = randomBase64url(12);
    tempCounter = 0;
  }
  let n = tempCounter++;
  let tail = "";
  for (let i = 0; i < 6; i++) {
    tail = BASE64URL[n & 63]! + tail;
    n = Math.floor(n / 64);
  }
  return tempPrefix + tail;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** True for a name written by {@link tempNameFor} (DVC's temp files look the same). */
export function isTempName(name: string): boolean {
  return /^\.[A-Za-z0-9_-]{22}\.tmp$/.test(basename(name));
}

/**
 * Streams `source` into `finalPath` through a temp file in the same folder,
 * hashing every chunk as it is written (one pass). When `expect` is given and
 * the digest differs, nothing is left behind and a CorruptError is thrown.
 * On any failure or abort the temp file is removed. Usable by every backend
 * whose `get` ends in a local file (pass the response body as `source`).
 */
export async function writeAtomic(
  finalPath: string,
  source: AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions,
): Promise<void> {
  await writeThroughTemp(finalPath, options, (fd) => streamInto(fd, source, options));
}

/**
 * Writes `source` into an open file (descriptor `fd`), hashing it in the
 * scheme of `options.expect` as it goes; returns the digest (undefined without one).
 */
export async function streamInto(
  fd: number,
  source: AsyncIterable<Uint8Array>,
  options: Pick<AtomicWriteOptions, "expect" | "signal" | "onBytes">,
): Promise<string | undefined> {
  const { signal, onBytes } = options;
  const hasher = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
  for await (const chunk of source) {
    throwIfAborted(signal);
    // The write runs on the I/O thread pool while the main thread hashes the same bytes.
    const written = writeFully(fd, chunk);
    hasher?.update(chunk);
    await written;
    onBytes?.(chunk.length);
  }
  return hasher?.digest();
}

/**
 * The temp-file life of {@link writeAtomic} around `fill`, which puts the
 * bytes into the open temp file (its descriptor and its path) and returns
 * their digest in the scheme of `options.expect` (undefined without one):
 * the digest is checked, the file protected, closed and renamed to
 * `finalPath`; on any failure or abort the temp file is removed. The temp
 * file is made before the first await, so `fill` starts in the caller's
 * turn: a copy handed to another thread is not held up by work that keeps
 * this one busy.
 */
export async function writeThroughTemp(
  finalPath: string,
  options: AtomicWriteOptions,
  fill: (fd: number, temp: string) => Promise<string | undefined>,
): Promise<void> {
  const { signal, context } = options;
  throwIfAborted(signal);
  const temp = tempNameFor(finalPath);
  let fd: number | undefined;
  try {
    fd = openExclusive(temp, 0o666, options.ensureDirSync ?? makeDirs);
  } catch (error) {
    throw storeErrorFromErrno(error, context);
  }
  let renamed = false;
  try {
    const digest = await fill(fd, temp);
    throwIfAborted(signal);
    if (options.expect) {
      if (digest === undefined) throw new Error(`No digest was taken of '${finalPath}'.`);
      checkWrittenDigest(digest, options.expect.hash, options.sourceLabel, finalPath);
    }
    if (options.fileMode !== undefined) await fchmodFd(fd, options.fileMode);
    const closing = fd;
    fd = undefined;
    await closeFd(closing);
    await rename(temp, finalPath);
    renamed = true;
  } catch (error) {
    throw storeErrorFromErrno(error, context);
  } finally {
    if (fd !== undefined) await closeFd(fd).catch(() => undefined);
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

function makeDirs(dir: string): void {
  mkdirSync(dir, { recursive: true });
}
