import { close, fchmod, openSync, write, writev } from "node:fs";
import { dirname } from "node:path";
import { errnoCode } from "./errors.ts";

/**
 * Promise forms of the descriptor calls the atomic writers use. A temp file
 * is opened synchronously (one system call, and the copy it is for can then
 * start in the same turn) and kept as a plain descriptor: node has no way
 * to wrap one in a `FileHandle`.
 */

/**
 * Writes all of `chunk` at the descriptor's offset (a write may take only
 * part of it). Not `writevFully([chunk])`: under Deno that raised the peak
 * memory of streaming a 40 MiB object by 71 MiB (the store suite's bound).
 */
export async function writeFully(fd: number, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    offset += await new Promise<number>((resolve, reject) =>
      write(fd, chunk, offset, chunk.length - offset, null, (error, written) => {
        if (error) reject(error);
        else resolve(written);
      })
    );
  }
}

/**
 * Creates `path` exclusively (`wx`, `mode` before the umask), making its
 * folder with `ensureDirSync` when missing; returns its descriptor.
 */
export function openExclusive(
  path: string,
  mode: number,
  ensureDirSync: (dir: string) => void,
): number {
  try {
    return openSync(path, "wx", mode);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
    ensureDirSync(dirname(path));
    return openSync(path, "wx", mode);
  }
}

export function fchmodFd(fd: number, mode: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fchmod(fd, mode, (error) => (error ? reject(error) : resolve()))
  );
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    close(fd, (error) => (error ? reject(error) : resolve()))
  );
}

/**
 * Writes every byte of `chunks`, in order, at the descriptor's offset with
 * as few `writev` calls as the kernel allows (a short write goes on from
 * where it stopped).
 */
export async function writevFully(fd: number, chunks: readonly Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const written = await new Promise<number>((resolve, reject) =>
      writev(fd, rest as Uint8Array[], null, (error, count) => {
        if (error) reject(error);
        else resolve(count);
      })
    );
    const left = unwritten(rest, written);
    // Nothing taken while bytes remain: the kernel would not take them on the next call either.
    if (written === 0 && left.length > 0) throw new Error("writev wrote nothing");
    rest = left;
  }
}

/** What is left of `chunks` once their first `written` bytes went out. */
export function unwritten(chunks: readonly Uint8Array[], written: number): readonly Uint8Array[] {
  let i = 0;
  let left = written;
  while (i < chunks.length && left >= chunks[i]!.length) left -= chunks[i++]!.length;
  if (i === chunks.length) return [];
  return [chunks[i]!.subarray(left), ...chunks.slice(i + 1)];
}
