import { open } from "node:fs/promises";
import { throwIfAborted } from "./abort.ts";
import { type FailureContext, storeErrorFromErrno } from "./errors.ts";

/** Largest read; big enough for ~1 GB/s with few syscalls, small enough to bound memory. */
export const CHUNK_SIZE = 1024 * 1024;
const MIN_BUFFER = 4096;

/**
 * Reads a local file as chunks while the next read is already in flight
 * (two alternating buffers), so hashing and writing a chunk overlap with
 * reading the next one. A yielded chunk is valid only until the consumer
 * asks for the next one. The file is open only while it is iterated.
 */
export async function* readChunks(
  path: string,
  context: FailureContext,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  throwIfAborted(signal);
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw storeErrorFromErrno(error, context);
  }
  let pending: Promise<number> | undefined;
  try {
    const size = (await handle.stat()).size;
    // Small files get small buffers: allocating 2 MiB per 4 KiB object costs more than the copy.
    const length = Math.min(CHUNK_SIZE, Math.max(MIN_BUFFER, size + 1));
    const buffers = [new Uint8Array(length), new Uint8Array(length)] as const;
    let index = 0;
    let total = 0;
    const read = (buffer: Uint8Array) =>
      handle!.read(buffer, 0, length, null).then((r) => r.bytesRead);
    pending = read(buffers[0]);
    while (pending) {
      const count = await pending;
      pending = undefined;
      if (count === 0) return;
      throwIfAborted(signal);
      total += count;
      const current = buffers[index]!;
      index = 1 - index;
      // A short read reaching the size seen at open is the end: saves a read per small file.
      const ended = count < length && total >= size;
      if (!ended) pending = read(buffers[index]!);
      yield current.subarray(0, count);
    }
  } catch (error) {
    throw storeErrorFromErrno(error, context);
  } finally {
    // A read still in flight must land before its descriptor is closed.
    if (pending) await pending.catch(() => undefined);
    await handle.close().catch(() => undefined);
  }
}
