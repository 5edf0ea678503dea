import { randomBase64url } from "../util/digest.ts";
import { mkdirSync } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CorruptError, StoreError } from "../errors/mod.ts";
import { createObjectHasher, type HashScheme } from "../util/object_hasher.ts";
import { redactUrl } from "../util/redact.ts";
import { concatBytes } from "../util/bytes.ts";
import { storeErrorFromErrno } from "./errors.ts";
import { closeFd, openExclusive, writevFully } from "./fd_io.ts";
import { SMALL_FILE, writeSmallSync } from "./local_small.ts";
import { classifyFetchFailure, timeoutError } from "./http_fetch.ts";
import { abortError } from "./abort.ts";

export interface SaveBodyOptions {
  readonly expect?: { readonly hash: string; readonly scheme: HashScheme } | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onBytes?: ((bytes: number) => void) | undefined;
  /** Longest pause allowed between two body chunks. */
  readonly readTimeoutMs: number;
  /** Verb phrase for messages ("download 'files/md5/ab/cd'"). */
  readonly action: string;
  /** The object's URL as users may see it. */
  readonly where: string;
}

/**
 * Streams an HTTP response body into `localPath` atomically: the bytes go to
 * `.<22 random chars>.tmp` beside it (DVC's temp name), are hashed on the way,
 * and the temp file is renamed only when the length matches Content-Length and
 * the hash matches `expect`. Anything else removes the temp file: a short body
 * is a transient StoreError, a wrong hash a CorruptError. A large body is
 * written a batch of chunks at a time (one `writev` per MiB or so, on the I/O
 * pool) while the next chunks arrive and are hashed: the body's tens of
 * thousands of small chunks then cost neither a write nor a wait each.
 */
export async function saveResponseBody(
  response: Response,
  localPath: string,
  options: SaveBodyOptions,
): Promise<void> {
  const declared = response.headers.get("content-length");
  const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  const expectedLength = declared !== null && !encoded && /^\d+$/.test(declared)
    ? Number(declared)
    : undefined;
  const folder = dirname(localPath);
  // Named only when the body streams through a file (see inMemory below).
  let temp = "";
  const hasher = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
  const reader = response.body?.getReader();
  // A small body (the many small objects of a dataset) is kept in memory and
  // written in a few synchronous calls once checked: a promise per open,
  // write, close and rename cost more than the transfer itself.
  const inMemory = expectedLength !== undefined && expectedLength <= SMALL_FILE
    ? [] as Uint8Array[]
    : undefined;
  let fd: number | undefined;
  /** Chunks received and hashed, not yet handed to a write. */
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  /** The write in flight (at most one: they go in order). */
  let writing: Promise<void> | undefined;
  /**
   * Why a write failed, once one did: the catch below reports it, over
   * whatever the reading then ran into.
   */
  let writeFailure: unknown;
  /** Waits for the write in flight (its failure is reported as {@link writeFailure}). */
  const drain = async () => {
    const landing = writing;
    writing = undefined;
    await landing;
  };
  /** Hands the gathered chunks to a write once the one before it landed. */
  const flush = async () => {
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    await drain();
    if (chunks.length === 0) return;
    writing = writevFully(fd!, chunks);
    // Recorded before anything awaits it, so the catch below knows it failed.
    writing.catch((error) => (writeFailure ??= error));
  };
  let renamed = false;
  let timedOut = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => void reader?.cancel().catch(() => {});
  options.signal?.addEventListener("abort", cancel);
  try {
    if (inMemory === undefined) {
      try {
        temp = join(folder, `.${randomBase64url(16)}.tmp`);
        fd = openExclusive(temp, 0o644, (dir) => void mkdirSync(dir, { recursive: true }));
      } catch (error) {
        throw storeErrorFromErrno(error, { action: "create a temporary file", where: temp });
      }
    }
    let received = 0;
    while (reader !== undefined) {
      idle = setTimeout(() => {
        timedOut = true;
        cancel();
      }, options.readTimeoutMs);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw classifyFetchFailure(error, options, undefined, options.readTimeoutMs);
      } finally {
        clearTimeout(idle);
      }
      if (options.signal?.aborted) throw abortError(options.signal);
      if (timedOut) throw timeoutError(options, options.readTimeoutMs);
      if (chunk.done) break;
      const bytes = chunk.value;
      if (inMemory !== undefined) {
        if (received + bytes.length > SMALL_FILE) {
          throw new StoreError(
            `Failed to ${options.action} at '${redactUrl(options.where)}': the body is longer ` +
              `than its declared ${expectedLength} bytes; retry later.`,
            { transient: true, data: { expectedLength } },
          );
        }
        inMemory.push(bytes);
      } else {
        batch.push(bytes);
        batchBytes += bytes.length;
        if (batchBytes >= WRITE_BATCH) await flush();
      }
      hasher?.update(bytes);
      received += bytes.length;
      options.onBytes?.(bytes.length);
    }
    if (expectedLength !== undefined && received !== expectedLength) {
      throw new StoreError(
        `Failed to ${options.action} at '${redactUrl(options.where)}': the body was cut short ` +
          `(${received} of ${expectedLength} bytes); retry later.`,
        { transient: true, data: { received, expectedLength } },
      );
    }
    if (hasher !== undefined && options.expect !== undefined) {
      const actual = hasher.digest();
      if (actual !== options.expect.hash) {
        throw new CorruptError(
          `Failed to ${options.action} at '${redactUrl(options.where)}': its content hashes to ` +
            `'${actual}', not '${options.expect.hash}'; the remote copy is corrupt.`,
          { data: { expected: options.expect.hash, actual } },
        );
      }
    }
    if (inMemory !== undefined) {
      const bytes = inMemory.length === 1 ? inMemory[0]! : concatBytes(inMemory, received);
      writeSmallSync(localPath, bytes, {
        ensureDirSync: (dir) => void mkdirSync(dir, { recursive: true }),
        context: { action: "move the download into place", where: localPath },
        sourceLabel: `'${redactUrl(options.where)}'`,
      });
      renamed = true;
      return;
    }
    await flush();
    await drain();
    if (options.signal?.aborted) throw abortError(options.signal);
    const closing = fd!;
    fd = undefined;
    await closeFd(closing);
    try {
      await rename(temp, localPath);
    } catch (error) {
      throw storeErrorFromErrno(error, {
        action: "move the download into place",
        where: localPath,
      });
    }
    renamed = true;
  } catch (error) {
    // A full disk (which stops every transfer) is not to be reported as the
    // network error that came while its write was still pending.
    await writing?.catch(() => {});
    if (writeFailure !== undefined) {
      throw storeErrorFromErrno(writeFailure, { action: "write", where: temp });
    }
    throw error;
  } finally {
    clearTimeout(idle);
    options.signal?.removeEventListener("abort", cancel);
    // A write still in flight must land before its descriptor is closed.
    await writing?.catch(() => {});
    if (fd !== undefined) await closeFd(fd).catch(() => {});
    if (!renamed && temp !== "") await unlink(temp).catch(() => {});
    if (!renamed) await reader?.cancel().catch(() => {});
  }
}

/** Bytes of body chunks gathered into one write. */
const WRITE_BATCH = 1024 * 1024;
