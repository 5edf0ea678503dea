import { close, fchmod, write } from "node:fs";

/**
 * Promise forms of the descriptor calls the atomic writers use. A temp file
 * is opened synchronously (one system call, and the copy it is for can then
 * start in the same turn) and kept as a plain descriptor: node has no way
 * to wrap one in a `FileHandle`.
 */

/** Writes all of `chunk` at the descriptor's offset (a write may take only part of it). */
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
