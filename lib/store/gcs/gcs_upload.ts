import { Buffer } from "node:buffer";
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { CorruptError, StoreError } from "../../errors/mod.ts";
import { createObjectHasher } from "../../util/object_hasher.ts";
import { abortableSleep, abortError } from "../abort.ts";
import { isTransient, storeErrorFromErrno } from "../errors.ts";
import { readFully } from "../read_fully.ts";
import type { TransferOptions } from "../types.ts";
import type { GcsClient } from "./gcs_client.ts";

/** Transfer sizes and in-session retries (tests and benchmarks may change them). */
export interface GcsTuning {
  /** Objects up to this size go in one multipart upload; larger ones resumable. */
  readonly simpleUploadLimit: number;
  /** Bytes per resumable chunk (a multiple of 256 KiB, as the API requires). */
  readonly chunkSize: number;
  /** `maxResults` of each list page. */
  readonly listPageSize: number;
  /** Tries per resumable chunk before the whole upload fails (then restarts with a new session). */
  readonly chunkAttempts: number;
  /** First pause before resuming a chunk; doubled per try. */
  readonly chunkRetryBaseMs: number;
}

const MIB = 1024 * 1024;
export const DEFAULT_GCS_TUNING: GcsTuning = {
  simpleUploadLimit: 8 * MIB,
  chunkSize: 8 * MIB,
  listPageSize: 1000,
  chunkAttempts: 5,
  chunkRetryBaseMs: 500,
};
const QUANTUM = 256 * 1024;

/**
 * Uploads a local file to `key`. The object's md5 goes in its metadata
 * (`md5Hash`), so Cloud Storage refuses to create an object whose bytes
 * arrived damaged; the bytes are compared with `expect` before anything is
 * sent. Small files go in one multipart upload; larger ones through a
 * resumable session in bounded chunks: a chunk cut short or answered 5xx/429
 * is resumed from the offset the server reports (a `Content-Range: bytes *` + `/size` status
 * query), not restarted.
 */
export async function uploadObject(
  client: GcsClient,
  key: string,
  localPath: string,
  options: TransferOptions,
  tuning: GcsTuning,
): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(localPath, "r");
  } catch (error) {
    throw storeErrorFromErrno(error, { action: "read the file to upload", where: localPath });
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= tuning.simpleUploadLimit) {
      await multipartUpload(client, key, handle, size, localPath, options);
    } else {
      await resumableUpload(client, key, handle, size, localPath, options, tuning);
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

function checkExpect(actual: string, options: TransferOptions, key: string, localPath: string) {
  if (options.expect && actual !== options.expect.hash) {
    throw new CorruptError(
      `Refusing to upload '${localPath}' as '${key}': its content hashes to '${actual}', not ` +
        `'${options.expect.hash}'; the local cache file is corrupt.`,
      { data: { expected: options.expect.hash, actual } },
    );
  }
}

async function multipartUpload(
  client: GcsClient,
  key: string,
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
): Promise<void> {
  const bytes = new Uint8Array(size);
  await readFully(handle, bytes, 0, localPath);
  if (options.expect) {
    const hasher = createObjectHasher(options.expect.scheme);
    hasher.update(bytes);
    checkExpect(hasher.digest(), options, key, localPath);
  }
  const md5 = createHash("md5").update(bytes).digest("base64");
  const boundary = `dxp-${randomBytes(12).toString("hex")}`;
  const metadata = JSON.stringify({
    name: client.fullName(key),
    md5Hash: md5,
    contentType: "application/octet-stream",
  });
  const head = Buffer.from(
    `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${metadata}\r\n` +
      `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(head.length + size + tail.length);
  body.set(head, 0);
  body.set(bytes, head.length);
  body.set(tail, head.length + size);
  const response = await client.request({
    method: "POST",
    path: `/upload/storage/v1/b/${encodeURIComponent(client.config.bucket)}/o`,
    query: [["uploadType", "multipart"]],
    headers: { "content-type": `multipart/related; boundary=${boundary}` },
    body,
    signal: options.signal,
    action: `upload '${key}'`,
  });
  await checkStored(response, md5, key, client);
  options.onBytes?.(size);
}

/** The created object's md5Hash must be ours (a server that ignores `md5Hash` is caught here). */
async function checkStored(response: Response, md5: string, key: string, client: GcsClient) {
  const text = await response.text();
  let stored: unknown;
  try {
    stored = (JSON.parse(text) as Record<string, unknown>)["md5Hash"];
  } catch {
    stored = undefined;
  }
  if (typeof stored === "string" && stored !== md5) {
    throw new StoreError(
      `Could not upload '${key}' to '${client.config.displayUrl}': the stored object's md5 ` +
        `(${stored}) differs from the file's (${md5}); retry later.`,
      { transient: true },
    );
  }
}

async function resumableUpload(
  client: GcsClient,
  key: string,
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
  tuning: GcsTuning,
): Promise<void> {
  const action = `upload '${key}'`;
  const chunkSize = Math.max(QUANTUM, Math.floor(tuning.chunkSize / QUANTUM) * QUANTUM);
  const buffer = new Uint8Array(chunkSize);
  // First pass: the md5 goes into the session's metadata, and a file that does
  // not match `expect` is refused before anything is sent.
  const md5Hasher = createHash("md5");
  const expectHasher = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
  for (let offset = 0; offset < size; offset += chunkSize) {
    if (options.signal?.aborted) throw abortError(options.signal);
    const piece = buffer.subarray(0, Math.min(chunkSize, size - offset));
    await readFully(handle, piece, offset, localPath);
    md5Hasher.update(piece);
    expectHasher?.update(piece);
  }
  if (expectHasher) checkExpect(expectHasher.digest(), options, key, localPath);
  const md5 = md5Hasher.digest("base64");

  const started = await client.request({
    method: "POST",
    path: `/upload/storage/v1/b/${encodeURIComponent(client.config.bucket)}/o`,
    query: [["uploadType", "resumable"], ["name", client.fullName(key)]],
    headers: {
      "content-type": "application/json; charset=UTF-8",
      "x-upload-content-type": "application/octet-stream",
      "x-upload-content-length": String(size),
    },
    body: new Uint8Array(Buffer.from(JSON.stringify({
      name: client.fullName(key),
      md5Hash: md5,
      contentType: "application/octet-stream",
    }))),
    signal: options.signal,
    action,
  });
  await started.arrayBuffer();
  const session = started.headers.get("location");
  if (!session) {
    throw new StoreError(
      `Could not ${action} in '${client.config.displayUrl}': the server started no upload session.`,
      { transient: true },
    );
  }

  let offset = 0;
  let reported = 0;
  const progress = (to: number) => {
    options.onBytes?.(to - reported);
    reported = to;
  };
  let failures = 0;
  try {
    for (;;) {
      if (options.signal?.aborted) throw abortError(options.signal);
      try {
        const end = Math.min(offset + chunkSize, size);
        const body = buffer.subarray(0, end - offset);
        await readFully(handle, body, offset, localPath);
        const response = await client.request({
          method: "PUT",
          path: session,
          headers: { "content-range": `bytes ${offset}-${end - 1}/${size}` },
          body,
          signal: options.signal,
          action: `${action} (bytes ${offset}-${end - 1})`,
          pass: [308, 404, 410],
        });
        if (response.status === 404 || response.status === 410) throw sessionGone(client, action);
        if (response.status !== 308) {
          await checkStored(response, md5, key, client);
          progress(size);
          return;
        }
        await response.arrayBuffer();
        const next = persisted(response);
        if (next <= offset) {
          throw new StoreError(
            `Could not ${action} in '${client.config.displayUrl}': the server kept none of ` +
              `the bytes from offset ${offset}; retry later.`,
            { transient: true },
          );
        }
        offset = next;
        progress(offset);
        failures = 0;
      } catch (error) {
        // Resume in the same session: ask how much it holds, go on from there.
        let last = error;
        for (;;) {
          if (!resumable(last) || ++failures >= tuning.chunkAttempts) throw last;
          const pause = tuning.chunkRetryBaseMs * 2 ** (failures - 1);
          const asked = (last as StoreError).retryAfterMs;
          await abortableSleep(Math.max(pause, Math.min(asked ?? 0, 60_000)), options.signal);
          try {
            const status = await queryStatus(client, session, size, options.signal, action);
            if (status === "done") {
              progress(size);
              return;
            }
            offset = status;
            progress(offset);
            break;
          } catch (queryError) {
            last = queryError;
          }
        }
      }
    }
  } catch (error) {
    await cancelSession(client, session, action);
    throw error;
  }
}

/** The next offset a 308 asks for: one past the end of `Range: bytes=0-N` (0 without one). */
function persisted(response: Response): number {
  const range = /bytes=0-(\d+)/.exec(response.headers.get("range") ?? "");
  return range ? Number(range[1]) + 1 : 0;
}

/** Network failures, timeouts, 408, 429 and 5xx: worth resuming in the same session. */
function resumable(error: unknown): boolean {
  if (!isTransient(error) || (error as StoreError).data["sessionGone"] === true) return false;
  const status = (error as StoreError).data["status"];
  return status === undefined || status === 408 || status === 429 ||
    (typeof status === "number" && status >= 500);
}

/** Asks the session how much it holds (an empty PUT with `Content-Range: bytes *` + `/<size>`). */
async function queryStatus(
  client: GcsClient,
  session: string,
  size: number,
  signal: AbortSignal | undefined,
  action: string,
): Promise<number | "done"> {
  const response = await client.request({
    method: "PUT",
    path: session,
    headers: { "content-range": `bytes */${size}` },
    body: new Uint8Array(0),
    signal,
    action: `${action} (resume)`,
    pass: [308, 404, 410],
  });
  await response.arrayBuffer();
  if (response.status === 404 || response.status === 410) throw sessionGone(client, action);
  return response.status === 308 ? persisted(response) : "done";
}

/** The session expired or was cancelled: the whole upload starts again (a new session). */
function sessionGone(client: GcsClient, action: string): StoreError {
  return new StoreError(
    `Could not ${action} in '${client.config.displayUrl}': the upload session expired; retry.`,
    { transient: true, data: { sessionGone: true } },
  );
}

/** Best effort: a failed session should not linger (it expires after a week anyway). */
async function cancelSession(client: GcsClient, session: string, action: string) {
  try {
    const response = await client.request({
      method: "DELETE",
      path: session,
      signal: AbortSignal.timeout(client.limits.connectTimeoutMs),
      action: `${action} (cancel)`,
      pass: [404, 410, 499],
    });
    await response.arrayBuffer();
  } catch {
    // an unfinished session is invisible; it expires by itself
  }
}
