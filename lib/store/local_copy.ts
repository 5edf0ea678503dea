import { statSync } from "node:fs";
import { type CopyHelper, CopyThreadUnavailable, OFF_THREAD_MIN_BYTES } from "./copy_helper.ts";
import { type FailureContext, storeErrorFromErrno } from "./errors.ts";
import { CopySideError } from "./fd_copy.ts";
import { readChunks } from "./local_stream.ts";
import {
  type AtomicWriteOptions,
  streamInto,
  writeAtomic,
  writeThroughTemp,
} from "./local_write.ts";

/** Options of {@link copyFileAtomic}: those of writeAtomic, and where the bytes are read. */
export interface FileCopyOptions extends AtomicWriteOptions {
  /** What reading the source is, for messages. */
  readonly readContext: FailureContext;
  /** The source's size when the caller knows it (a small one is not worth the thread). */
  readonly size?: number | undefined;
  /** The copying thread to use for a large object, when free. */
  readonly helper: CopyHelper;
}

/**
 * Copies the local file `sourcePath` into `finalPath` exactly as
 * {@link writeAtomic} would (temp file, digest checked, renamed). A large
 * object with an md5 to check goes to the copying thread when that has
 * less ahead of it than this thread (see CopyHelper): the main thread then
 * goes on with other objects meanwhile. Anything else (small, no md5 to
 * check, a legacy scheme) streams here.
 */
export async function copyFileAtomic(
  sourcePath: string,
  finalPath: string,
  options: FileCopyOptions,
): Promise<void> {
  // Only md5 is hashed there (the legacy scheme's CRLF pass stays here).
  const size = options.expect?.scheme === "md5" ? largeSize(sourcePath, options.size) : undefined;
  const lease = size === undefined ? undefined : options.helper.claim(size);
  if (size === undefined || lease === undefined) {
    const done = size === undefined ? undefined : options.helper.onMainThread(size);
    try {
      const source = readChunks(sourcePath, options.readContext, options.signal);
      return await writeAtomic(finalPath, source, options);
    } finally {
      done?.();
    }
  }
  try {
    await writeThroughTemp(finalPath, options, async (fd, temp) => {
      try {
        return (await lease.copy(sourcePath, temp, options.signal, options.onBytes)).digest;
      } catch (error) {
        if (error instanceof CopyThreadUnavailable) {
          // Nothing was read or written yet: the same temp file, filled from here.
          const source = readChunks(sourcePath, options.readContext, options.signal);
          return await streamInto(fd, source, options);
        }
        if (!(error instanceof CopySideError)) throw error;
        throw storeErrorFromErrno(
          error,
          error.side === "read" ? options.readContext : options.context,
        );
      }
    });
  } finally {
    lease.release();
  }
}

/**
 * The source's size when it is as large as the thread needs; else (small,
 * or not readable: streaming it reports why) undefined.
 */
function largeSize(path: string, known: number | undefined): number | undefined {
  let size = known;
  try {
    size ??= statSync(path, { throwIfNoEntry: false })?.size;
  } catch {
    return undefined;
  }
  return size !== undefined && size >= OFF_THREAD_MIN_BYTES ? size : undefined;
}
