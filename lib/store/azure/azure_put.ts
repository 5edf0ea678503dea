import { Buffer } from "node:buffer";
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { CorruptError } from "../../errors/mod.ts";
import { createObjectHasher, type ObjectHasher } from "../../util/object_hasher.ts";
import { abortError } from "../abort.ts";
import { storeErrorFromErrno } from "../errors.ts";
import { readFully } from "../read_fully.ts";
import { escapeXml } from "../s3/xml.ts";
import type { TransferOptions } from "../types.ts";
import type { AzureClient } from "./azure_client.ts";
import { discardBody } from "../read_body.ts";

/** Transfer sizes (tests and benchmarks may change them). */
export interface AzureTuning {
  /** Blobs up to this size go up in one Put Blob. */
  readonly singlePutLimit: number;
  readonly blockSize: number;
  /** Blocks of one blob sent at the same time (memory ≈ this × blockSize). */
  readonly blocksInFlight: number;
  /** `maxresults` of each List Blobs page (the service caps it at 5000). */
  readonly listPageSize: number;
}

const MIB = 1024 * 1024;
export const DEFAULT_AZURE_TUNING: AzureTuning = {
  singlePutLimit: 16 * MIB,
  blockSize: 8 * MIB,
  blocksInFlight: 2,
  listPageSize: 5000,
};
/** A block blob has at most this many blocks. */
const MAX_BLOCKS = 50_000;

/** Metadata adlfs writes on every upload, so adlfs-based readers see a file, not a folder. */
const FILE_METADATA = { "x-ms-meta-is_directory": "false" };

/**
 * Uploads a local file to `key` (remote-relative). Bodies are bounded
 * in-memory buffers, each with a Content-MD5 the service checks. Small files
 * go in one Put Blob; larger ones as blocks, a few in flight, committed by
 * one Put Block List carrying the whole file's md5 — after the bytes were
 * compared with `expect`, so a wrong file never becomes visible (uncommitted
 * blocks are invisible and the service discards them).
 */
export async function putBlob(
  client: AzureClient,
  key: string,
  localPath: string,
  options: TransferOptions,
  tuning: AzureTuning,
): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(localPath, "r");
  } catch (error) {
    throw storeErrorFromErrno(error, { action: "read the file to upload", where: localPath });
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= tuning.singlePutLimit) {
      await putSingle(client, key, handle, size, localPath, options);
    } else {
      await putBlocks(client, key, handle, size, localPath, options, tuning);
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

async function putSingle(
  client: AzureClient,
  key: string,
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
): Promise<void> {
  const body = new Uint8Array(size);
  await readFully(handle, body, 0, localPath);
  if (options.expect) {
    const hasher = createObjectHasher(options.expect.scheme);
    hasher.update(body);
    checkExpect(hasher, options, key, localPath);
  }
  const response = await client.request({
    method: "PUT",
    blob: client.fullName(key),
    headers: {
      "x-ms-blob-type": "BlockBlob",
      "content-type": "application/octet-stream",
      "content-md5": createHash("md5").update(body).digest("base64"),
      ...FILE_METADATA,
    },
    body,
    signal: options.signal,
    action: `upload '${key}'`,
  });
  await discardBody(response);
  options.onBytes?.(size);
}

async function putBlocks(
  client: AzureClient,
  key: string,
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
  tuning: AzureTuning,
): Promise<void> {
  const blob = client.fullName(key);
  const action = `upload '${key}'`;
  const blockSize = Math.max(tuning.blockSize, Math.ceil(size / MAX_BLOCKS));
  // Block ids are per blob and must have one length: a random upload id keeps a
  // concurrent upload of the same blob from committing our blocks or we theirs.
  const uploadId = randomBytes(12).toString("hex");
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const expectHasher = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
  const md5 = createHash("md5");
  const free: Uint8Array<ArrayBuffer>[] = [];
  let failure: { error: unknown } | undefined;
  try {
    for (let offset = 0, index = 0; offset < size && !failure; offset += blockSize, index++) {
      // Wait for a free slot before reading, so at most blocksInFlight buffers exist.
      while (inFlight.size >= tuning.blocksInFlight) await Promise.race(inFlight);
      if (failure) break;
      if (options.signal?.aborted) throw abortError(options.signal);
      const buffer = free.pop() ?? new Uint8Array(blockSize);
      const body = buffer.subarray(0, Math.min(blockSize, size - offset));
      await readFully(handle, body, offset, localPath);
      expectHasher?.update(body);
      md5.update(body);
      const id = Buffer.from(`${uploadId}-${String(index).padStart(6, "0")}`).toString("base64");
      ids.push(id);
      const sent = client.request({
        method: "PUT",
        blob,
        query: [["comp", "block"], ["blockid", id]],
        headers: { "content-md5": createHash("md5").update(body).digest("base64") },
        body,
        signal: options.signal,
        action: `${action} (block ${index + 1})`,
      }).then(async (response) => {
        await discardBody(response);
        free.push(buffer);
        options.onBytes?.(body.length);
      }, (error: unknown) => void (failure ??= { error }))
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    }
  } finally {
    // Blocks still being sent would outlive a failure; let them settle first.
    await Promise.all(inFlight);
  }
  if (failure) throw failure.error;
  if (expectHasher) checkExpect(expectHasher, options, key, localPath);
  const xml = '<?xml version="1.0" encoding="utf-8"?><BlockList>' +
    ids.map((id) => `<Latest>${escapeXml(id)}</Latest>`).join("") + "</BlockList>";
  const body = new Uint8Array(Buffer.from(xml, "utf8"));
  const response = await client.request({
    method: "PUT",
    blob,
    query: [["comp", "blocklist"]],
    headers: {
      "content-type": "application/xml",
      "content-md5": createHash("md5").update(body).digest("base64"),
      "x-ms-blob-content-type": "application/octet-stream",
      "x-ms-blob-content-md5": md5.digest("base64"),
      ...FILE_METADATA,
    },
    body,
    signal: options.signal,
    action,
  });
  await discardBody(response);
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
