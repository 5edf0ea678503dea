import type { FileHandle } from "node:fs/promises";
import { StoreError } from "../errors/mod.ts";
import { storeErrorFromErrno } from "./errors.ts";

/**
 * Fills `buffer` from the file at `position`. A file that shrank while it
 * was being uploaded is a transient error (the retry reads it again).
 */
export async function readFully(
  handle: FileHandle,
  buffer: Uint8Array,
  position: number,
  path: string,
): Promise<void> {
  let filled = 0;
  while (filled < buffer.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(
        buffer,
        filled,
        buffer.length - filled,
        position + filled,
      ));
    } catch (error) {
      throw storeErrorFromErrno(error, { action: "read the file to upload", where: path });
    }
    if (bytesRead === 0) {
      throw new StoreError(`File '${path}' changed while it was being uploaded; retry.`, {
        transient: true,
      });
    }
    filled += bytesRead;
  }
}
