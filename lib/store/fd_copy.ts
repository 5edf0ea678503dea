import { read } from "node:fs";
import { writeFully } from "./fd_io.ts";
import { createObjectHasher } from "../util/object_hasher.ts";

/** What {@link copyHashed} did: the md5 of every byte it copied, or "stopped" when asked to stop. */
export type CopyHashed = { readonly digest: string; readonly bytes: number } | "stopped";

/** Which descriptor failed, for the message: the source read, or the temp file written. */
export type CopySide = "read" | "write";

/** A read or write of {@link copyHashed} that failed, with the side it failed on. */
export class CopySideError extends Error {
  constructor(readonly side: CopySide, readonly code: string | undefined, message: string) {
    super(message);
  }
}

/** Hooks of {@link copyHashed}: `stop` is asked before each chunk, `onBytes` told after it. */
export interface CopyHooks {
  stop(): boolean;
  onBytes?(bytes: number): void;
}

/**
 * Copies everything readable from `input` to `output` (two open descriptors,
 * at their current offsets) through `buffers`, hashing the bytes with md5 as
 * they pass — what the copying thread runs (see copy_helper.ts). While this
 * thread hashes a chunk, the I/O thread pool writes it and reads the next
 * one into the other buffer. Failures reject with {@link CopySideError};
 * the caller owns both descriptors.
 */
export async function copyHashed(
  input: number,
  output: number,
  buffers: readonly [Uint8Array, Uint8Array],
  hooks: CopyHooks,
): Promise<CopyHashed> {
  const hasher = createObjectHasher("md5");
  let bytes = 0;
  let index = 0;
  let reading: Promise<number> | undefined = readInto(input, buffers[0]);
  try {
    for (;;) {
      const count = await reading;
      reading = undefined;
      if (count === 0) break;
      if (hooks.stop()) return "stopped";
      const chunk = buffers[index]!.subarray(0, count);
      index = 1 - index;
      reading = readInto(input, buffers[index]!);
      const written = writeAll(output, chunk);
      hasher.update(chunk);
      await written;
      bytes += count;
      hooks.onBytes?.(count);
    }
  } finally {
    // A read still in flight must land before the caller may close the descriptor.
    if (reading) await reading.catch(() => undefined);
  }
  return { digest: hasher.digest(), bytes };
}

function readInto(fd: number, buffer: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, buffer.length, null, (error, count) => {
      if (error) reject(sideError("read", error));
      else resolve(count);
    })
  );
}

async function writeAll(fd: number, chunk: Uint8Array): Promise<void> {
  try {
    await writeFully(fd, chunk);
  } catch (error) {
    throw sideError("write", error);
  }
}

/** `error` (a node:fs failure) as a {@link CopySideError} of `side`, its errno kept. */
export function sideError(side: CopySide, error: unknown): CopySideError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return new CopySideError(side, typeof code === "string" ? code : undefined, message);
}
