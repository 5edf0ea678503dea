import { Buffer } from "node:buffer";
import { discardBody, readBodyText } from "../read_body.ts";
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { CorruptError, StoreError } from "../../errors/mod.ts";
import { createObjectHasher } from "../../util/object_hasher.ts";
import { storeErrorFromErrno } from "../errors.ts";
import { hashLocalFile, QUANTUM, sendResumable } from "../google/resumable.ts";
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
  const text = await readBodyText(response, {
    action: `upload '${key}'`,
    where: client.config.displayUrl,
  });
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
  // First pass: the md5 goes into the session's metadata, and a file that does
  // not match `expect` is refused before anything is sent.
  const hashes = await hashLocalFile(handle, size, localPath, options);
  if (options.expect) checkExpect(hashes.expect!, options, key, localPath);
  const md5 = hashes.md5.toString("base64");

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
  await discardBody(started);
  const session = started.headers.get("location");
  if (!session) {
    throw new StoreError(
      `Could not ${action} in '${client.config.displayUrl}': the server started no upload session.`,
      { transient: true },
    );
  }

  const done = await sendResumable({
    session,
    handle,
    localPath,
    size,
    chunkSize,
    attempts: tuning.chunkAttempts,
    retryBaseMs: tuning.chunkRetryBaseMs,
    signal: options.signal,
    onBytes: options.onBytes,
    action,
    remote: client.config.displayUrl,
    request: (req) => client.request(req),
  });
  await checkStored(done, md5, key, client);
}
