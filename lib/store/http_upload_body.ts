import type { FileHandle } from "node:fs/promises";
import { readFully } from "./read_fully.ts";
import type { ObjectHasher } from "../util/object_hasher.ts";

/** Files up to this size are sent as one buffer (with a Content-Length). */
export const BUFFERED_UPLOAD_LIMIT = 16 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** A local file as an HTTP request body. */
export interface UploadBody {
  /** Feeds the whole file to `hasher` (reads it once more for large files). */
  hashInto(hasher: ObjectHasher): Promise<void>;
  /**
   * The body for fetch: the buffer itself for small files; for large ones a
   * stream of 1 MiB reads (sent chunked, as DVC's own HTTP client does),
   * reporting each chunk to `onBytes`.
   */
  forFetch(): Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>>;
  /** True when forFetch() streams (progress is reported while sending). */
  readonly streamed: boolean;
}

/** Prepares `handle` (opened by the caller, who also closes it) as an upload body. */
export async function fileBody(
  handle: FileHandle,
  path: string,
  onBytes?: (bytes: number) => void,
): Promise<{ body: UploadBody; size: number }> {
  const size = (await handle.stat()).size;
  if (size <= BUFFERED_UPLOAD_LIMIT) {
    const buffer = new Uint8Array(size);
    await readFully(handle, buffer, 0, path);
    return {
      size,
      body: {
        streamed: false,
        hashInto: (hasher) => Promise.resolve(hasher.update(buffer)),
        forFetch: () => buffer,
      },
    };
  }
  return {
    size,
    body: {
      streamed: true,
      async hashInto(hasher) {
        const chunk = new Uint8Array(CHUNK);
        for (let offset = 0; offset < size; offset += CHUNK) {
          const piece = chunk.subarray(0, Math.min(CHUNK, size - offset));
          await readFully(handle, piece, offset, path);
          hasher.update(piece);
        }
      },
      forFetch() {
        let offset = 0;
        return new ReadableStream<Uint8Array<ArrayBuffer>>({
          async pull(controller) {
            if (offset >= size) {
              controller.close();
              return;
            }
            const piece = new Uint8Array(Math.min(CHUNK, size - offset));
            await readFully(handle, piece, offset, path);
            offset += piece.length;
            controller.enqueue(piece);
            onBytes?.(piece.length);
          },
        });
      },
    },
  };
}
