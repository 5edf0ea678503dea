/**
 * One upload over an SFTP session: the local file is read once, hashed as
 * it passes, and written into a temp file beside the final name with many
 * WRITE requests in flight; only a complete, verified temp file is renamed
 * over the final name. A small file costs three round trips: (STAT final +
 * OPEN temp), (WRITE + FSETSTAT + CLOSE), RENAME.
 */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { CorruptError } from "../../errors/mod.ts";
import { oidDigest } from "../../core/object_key.ts";
import { createObjectHasher } from "../../util/object_hasher.ts";
import { abortError, throwIfAborted } from "../abort.ts";
import { readChunks } from "../local_stream.ts";
import type { TransferOptions } from "../types.ts";
import { InFlight } from "./in_flight.ts";
import { type FileAttrs, isRegularFile, OPEN_FLAGS } from "./packet.ts";
import type { SftpClient } from "./sftp_client.ts";
import { isNoSuchFile } from "./sftp_errors.ts";

/** What an upload needs besides the session. */
export interface UploadSpec {
  readonly localPath: string;
  /** The final remote path. */
  readonly target: string;
  /** Content-addressed object: made 0444, and an existing 0444 one is left alone. */
  readonly isObject: boolean;
  readonly options: TransferOptions;
  /** Bytes per WRITE request. */
  readonly chunkSize: number;
  /** WRITE requests in flight at most. */
  readonly window: number;
  readonly ensureDir: (dir: string) => Promise<void>;
  /** Moves the finished temp file over the final name. */
  readonly rename: (from: string, to: string) => Promise<void>;
  /** Names the local file in messages. */
  readonly readContext: { action: string; where: string };
}

const CREATE = OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | OPEN_FLAGS.EXCL;

/** Uploads; on any failure or abort the temp file is removed (best effort) before it throws. */
export async function sftpUpload(client: SftpClient, spec: UploadSpec): Promise<void> {
  const { options, target } = spec;
  const { signal } = options;
  throwIfAborted(signal);
  const temp = remoteTempName(target);
  const source = readChunks(spec.localPath, spec.readContext, signal)[Symbol.asyncIterator]();
  // The local open, the existence check and the remote open share one round trip.
  const first = source.next();
  first.catch(() => undefined);
  const existing: Promise<FileAttrs | undefined> = spec.isObject
    ? client.statIfExists(target).catch(() => undefined)
    : Promise.resolve(undefined);
  let handle: Uint8Array | undefined;
  let closed = false;
  const flight = new InFlight(spec.window);
  const onAbort = () => flight.fail(abortError(signal!));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    handle = await openTemp(client, temp, spec.ensureDir);
    const attrs = await existing;
    // Objects are immutable: a protected one already there is the right content.
    if (attrs !== undefined && isRegularFile(attrs) && (attrs.mode! & 0o7777) === 0o444) {
      await source.return?.();
      closed = true;
      client.close(handle).catch(() => undefined);
      await client.remove(temp).catch(() => undefined);
      return;
    }
    const hasher = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
    let offset = 0;
    for (let next = await first; !next.done; next = await source.next()) {
      const chunk = next.value;
      hasher?.update(chunk);
      for (let at = 0; at < chunk.length; at += spec.chunkSize) {
        await flight.slot();
        if (flight.error) throw flight.error.value;
        const piece = chunk.subarray(at, Math.min(chunk.length, at + spec.chunkSize));
        // The request copies `piece` at once, so the read buffer can be reused.
        flight.track(client.write(handle, offset, piece), () => options.onBytes?.(piece.length));
        offset += piece.length;
      }
    }
    if (options.expect && hasher) {
      const actual = hasher.digest();
      const wanted = oidDigest(options.expect.hash);
      if (actual !== wanted) {
        throw new CorruptError(
          `'${spec.localPath}' has md5 '${actual}' instead of '${wanted}'; ` +
            `nothing was written to '${target}'.`,
          { data: { expected: wanted, actual, path: target } },
        );
      }
    }
    if (spec.isObject) flight.track(client.fsetstat(handle, { mode: 0o444 }));
    closed = true;
    flight.track(client.close(handle));
    await flight.drain();
    if (flight.error) throw flight.error.value;
    throwIfAborted(signal);
    await spec.rename(temp, target);
    handle = undefined;
  } catch (error) {
    await source.return?.().catch(() => undefined);
    if (handle !== undefined) {
      // Requests are answered in order: closing after the writes needs no wait for them.
      if (!closed) client.close(handle).catch(() => undefined);
      await client.remove(temp).catch(() => undefined);
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * DVC's temp name (spec §4.5) beside `target`: `.` + 22 URL-safe base64
 * characters + `.tmp`, so `isTempName` recognises it and the rename stays
 * within one folder.
 */
export function remoteTempName(target: string): string {
  return posix.join(posix.dirname(target), `.${randomBytes(16).toString("base64url")}.tmp`);
}

async function openTemp(
  client: SftpClient,
  temp: string,
  ensureDir: (dir: string) => Promise<void>,
): Promise<Uint8Array> {
  try {
    return await client.open(temp, CREATE);
  } catch (error) {
    if (!isNoSuchFile(error)) throw error;
    await ensureDir(posix.dirname(temp));
    return await client.open(temp, CREATE);
  }
}
