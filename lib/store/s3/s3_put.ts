import { Buffer } from "node:buffer";
import { readFully } from "../read_fully.ts";
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { CorruptError, StoreError } from "../../errors/mod.ts";
import { createObjectHasher, type ObjectHasher } from "../../util/object_hasher.ts";
import { storeErrorFromErrno } from "../errors.ts";
import type { TransferOptions } from "../types.ts";
import type { S3Client, S3Tuning } from "./s3_client.ts";
import { escapeXml, xmlText } from "./xml.ts";
import { abortError } from "../abort.ts";
import { discardBody, readBodyText } from "../read_body.ts";

/** S3 allows at most this many parts per upload. */
const MAX_PARTS = 10_000;

/**
 * Uploads a local file to `key` (remote-relative). Bodies are always bounded
 * in-memory buffers, so every request has a Content-Length (a streamed body
 * goes out chunked, which S3 refuses with 411) and a Content-MD5 the server
 * checks. Small files go in one PUT; larger ones in parts, a few in flight,
 * and the whole-file hash is compared with `expect` before
 * CompleteMultipartUpload, so a wrong file never becomes visible.
 */
export async function putObject(
  client: S3Client,
  key: string,
  localPath: string,
  options: TransferOptions,
): Promise<void> {
  const { tuning } = await client.settings();
  let handle: FileHandle;
  try {
    handle = await open(localPath, "r");
  } catch (error) {
    throw storeErrorFromErrno(error, { action: "read the file to upload", where: localPath });
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= tuning.multipartThreshold) {
      await putSingle(client, key, handle, size, localPath, options);
    } else {
      await putMultipart(client, key, handle, size, localPath, options, tuning);
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

async function putSingle(
  client: S3Client,
  key: string,
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
): Promise<void> {
  const body = new Uint8Array(size);
  await readFully(handle, body, 0, localPath);
  const md5 = createHash("md5").update(body).digest();
  if (options.expect) {
    const hasher = createObjectHasher(options.expect.scheme);
    hasher.update(body);
    checkExpect(hasher, options, key, localPath);
  }
  const response = await client.request({
    method: "PUT",
    key: client.fullKey(key),
    headers: {
      ...client.config.writeHeaders,
      ...client.config.customerKeyHeaders,
      "content-md5": md5.toString("base64"),
    },
    body,
    signal: options.signal,
    action: `upload '${key}'`,
  });
  await discardBody(response); // empty; reading it keeps the connection reusable
  options.onBytes?.(size);
}

async function putMultipart(
  client: S3Client,
  key: string,
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
  tuning: S3Tuning,
): Promise<void> {
  const fullKey = client.fullKey(key);
  const action = `upload '${key}'`;
  const partSize = Math.max(tuning.partSize, Math.ceil(size / MAX_PARTS));
  const created = await client.request({
    method: "POST",
    key: fullKey,
    query: [["uploads", ""]],
    headers: { ...client.config.writeHeaders, ...client.config.customerKeyHeaders },
    signal: options.signal,
    action,
  });
  const uploadId = xmlText(
    await readBodyText(created, {
      action,
      where: client.config.displayUrl,
      signal: options.signal,
    }),
    "UploadId",
  );
  if (!uploadId) {
    throw new StoreError(
      `Could not ${action} in '${client.config.displayUrl}': S3 returned no UploadId.`,
      { transient: true },
    );
  }
  // Settles, never rejects: a failed part is recorded in `failure`.
  const inFlight = new Set<Promise<void>>();
  try {
    const hasher = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
    const etags: string[] = [];
    // Part buffers are reused once their request has been answered, so memory
    // stays at partsInFlight × partSize instead of waiting for the GC.
    const free: Uint8Array<ArrayBuffer>[] = [];
    let failure: { error: unknown } | undefined;
    for (let offset = 0, part = 1; offset < size && !failure; offset += partSize, part++) {
      // Wait for a free slot before reading, so at most partsInFlight buffers exist.
      while (inFlight.size >= tuning.partsInFlight) await Promise.race(inFlight);
      if (failure) break;
      if (options.signal?.aborted) throw abortError(options.signal);
      const buffer = free.pop() ?? new Uint8Array(partSize);
      const body = buffer.subarray(0, Math.min(partSize, size - offset));
      await readFully(handle, body, offset, localPath);
      hasher?.update(body);
      const number = part;
      const sent = uploadPart(client, fullKey, uploadId, number, body, options.signal, action)
        .then((etag) => {
          etags[number - 1] = etag;
          free.push(buffer);
          options.onBytes?.(body.length);
        }, (error: unknown) => void (failure ??= { error }))
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    if (hasher) checkExpect(hasher, options, key, localPath);
    await complete(client, fullKey, uploadId, etags, options.signal, action);
  } catch (error) {
    // Parts still being sent would outlive the abort and could leave storage behind.
    await Promise.all(inFlight);
    await abortUpload(client, fullKey, uploadId, action);
    throw error;
  }
}

async function uploadPart(
  client: S3Client,
  fullKey: string,
  uploadId: string,
  number: number,
  body: Uint8Array<ArrayBuffer>,
  signal: AbortSignal | undefined,
  action: string,
): Promise<string> {
  const response = await client.request({
    method: "PUT",
    key: fullKey,
    query: [["partNumber", String(number)], ["uploadId", uploadId]],
    headers: {
      ...client.config.customerKeyHeaders,
      "content-md5": createHash("md5").update(body).digest("base64"),
    },
    body,
    signal,
    action: `${action} (part ${number})`,
  });
  await discardBody(response);
  const etag = response.headers.get("etag");
  if (!etag) {
    throw new StoreError(
      `Could not ${action} in '${client.config.displayUrl}': S3 returned no ETag for part ${number}.`,
      { transient: true },
    );
  }
  return etag;
}

async function complete(
  client: S3Client,
  fullKey: string,
  uploadId: string,
  etags: string[],
  signal: AbortSignal | undefined,
  action: string,
): Promise<void> {
  const xml = "<CompleteMultipartUpload>" +
    etags.map((etag, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`
    )
      .join("") +
    "</CompleteMultipartUpload>";
  const response = await client.request({
    method: "POST",
    key: fullKey,
    query: [["uploadId", uploadId]],
    headers: { "content-type": "application/xml" },
    body: new Uint8Array(Buffer.from(xml, "utf8")),
    signal,
    action,
  });
  // S3 may answer 200 and report the failure in the body (it has already sent the status).
  const text = await readBodyText(response, { action, where: client.config.displayUrl, signal });
  if (/<Error>/.test(text)) {
    throw await client.errorFrom(new Response(text, { status: 500 }), action);
  }
}

/** Best effort: parts of a failed upload must not linger (and cost money). */
async function abortUpload(client: S3Client, fullKey: string, uploadId: string, action: string) {
  try {
    const response = await client.request({
      method: "DELETE",
      key: fullKey,
      query: [["uploadId", uploadId]],
      signal: AbortSignal.timeout(client.limits.connectTimeoutMs + client.limits.readTimeoutMs),
      action: `${action} (abort)`,
      pass: [404],
    });
    await discardBody(response);
  } catch {
    // The upload stays invisible either way; a bucket lifecycle rule cleans leftovers.
  }
}

function checkExpect(
  hasher: ObjectHasher,
  options: TransferOptions,
  key: string,
  localPath: string,
) {
  const actual = hasher.digest();
  if (options.expect && actual !== options.expect.hash) {
    throw new CorruptError(
      `Refusing to upload '${localPath}' as '${key}': its content hashes to '${actual}', not ` +
        `'${options.expect.hash}'; the local cache file is corrupt.`,
      { data: { expected: options.expect.hash, actual } },
    );
  }
}
