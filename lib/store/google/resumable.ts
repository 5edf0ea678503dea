import type { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { createObjectHasher } from "../../util/object_hasher.ts";
import type { TransferOptions } from "../types.ts";
import { StoreError } from "../../errors/mod.ts";
import { abortableSleep, abortError } from "../abort.ts";
import { isTransient } from "../errors.ts";
import { readFully } from "../read_fully.ts";
import { discardBody } from "../read_body.ts";

/**
 * Google's resumable upload protocol, shared by Cloud Storage and Drive:
 * after a session URI was obtained, the bytes go up in chunks (`PUT` with
 * `Content-Range: bytes a-b/size`); `308` + `Range: bytes=0-N` means "I hold
 * N+1 bytes, go on from there" (possibly less than was sent); 200/201 ends
 * the upload with the created resource. A chunk that fails on the way
 * (network, 408, 429, 5xx) is not sent again blindly: the session is asked
 * how much it holds (an empty `PUT` with `Content-Range: bytes *` + `/size`)
 * and the upload goes on from there.
 */

/** A request to a session URI (the store's client adds auth, limits, error mapping). */
export interface SessionRequest {
  readonly method: "PUT" | "DELETE";
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array<ArrayBuffer>;
  readonly signal?: AbortSignal | undefined;
  readonly action: string;
  readonly pass?: readonly number[];
}

export interface ResumableSession {
  readonly session: string;
  readonly handle: FileHandle;
  readonly localPath: string;
  readonly size: number;
  /** Bytes per chunk (a multiple of 256 KiB); one buffer of this size is used. */
  readonly chunkSize: number;
  /** Tries per chunk before giving up (then the caller may restart with a new session). */
  readonly attempts: number;
  /** First pause before asking the session; doubled per try. */
  readonly retryBaseMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onBytes?: ((bytes: number) => void) | undefined;
  readonly action: string;
  /** The remote as users know it, for messages (the session URI is never shown). */
  readonly remote: string;
  readonly request: (req: SessionRequest) => Promise<Response>;
}

export const QUANTUM = 256 * 1024;

/**
 * One pass over a local file before an upload: its raw md5 (for the
 * server's check or ours) and its hash in `expect`'s scheme, 1 MiB at a time.
 */
export async function hashLocalFile(
  handle: FileHandle,
  size: number,
  localPath: string,
  options: TransferOptions,
): Promise<{ md5: Buffer; expect: string | undefined }> {
  const md5 = createHash("md5");
  const expect = options.expect ? createObjectHasher(options.expect.scheme) : undefined;
  const buffer = new Uint8Array(Math.min(size, 1024 * 1024));
  for (let offset = 0; offset < size; offset += buffer.length) {
    if (options.signal?.aborted) throw abortError(options.signal);
    const piece = buffer.subarray(0, Math.min(buffer.length, size - offset));
    await readFully(handle, piece, offset, localPath);
    md5.update(piece);
    expect?.update(piece);
  }
  return { md5: md5.digest(), expect: expect?.digest() };
}

/** Sends the file through the session; returns the final (2xx) response, unread. */
export async function sendResumable(s: ResumableSession): Promise<Response> {
  const chunkSize = Math.max(QUANTUM, Math.floor(s.chunkSize / QUANTUM) * QUANTUM);
  const buffer = new Uint8Array(Math.min(chunkSize, Math.max(s.size, 1)));
  let offset = 0;
  let reported = 0;
  const progress = (to: number) => {
    s.onBytes?.(to - reported);
    reported = to;
  };
  let failures = 0;
  try {
    for (;;) {
      if (s.signal?.aborted) throw abortError(s.signal);
      try {
        const end = Math.min(offset + chunkSize, s.size);
        const body = buffer.subarray(0, end - offset);
        await readFully(s.handle, body, offset, s.localPath);
        const response = await s.request({
          method: "PUT",
          path: s.session,
          // An empty file is one PUT without a range.
          headers: s.size === 0 ? {} : { "content-range": `bytes ${offset}-${end - 1}/${s.size}` },
          body,
          signal: s.signal,
          action: s.size === 0 ? s.action : `${s.action} (bytes ${offset}-${end - 1})`,
          pass: [308, 404, 410],
        });
        if (response.status === 404 || response.status === 410) throw sessionGone(s);
        if (response.status !== 308) {
          progress(s.size);
          return response;
        }
        await discardBody(response);
        const next = persisted(response);
        if (next <= offset) {
          throw new StoreError(
            `Could not ${s.action} in '${s.remote}': the server kept none of the bytes from ` +
              `offset ${offset}; retry later.`,
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
          if (!resumable(last) || ++failures >= s.attempts) throw last;
          const pause = s.retryBaseMs * 2 ** (failures - 1);
          const asked = (last as StoreError).retryAfterMs;
          await abortableSleep(Math.max(pause, Math.min(asked ?? 0, 60_000)), s.signal);
          try {
            const status = await queryStatus(s);
            if (status instanceof Response) {
              progress(s.size);
              return status;
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
    await cancelSession(s);
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

/** How much the session holds: an offset, or the final response when it is complete. */
async function queryStatus(s: ResumableSession): Promise<number | Response> {
  const response = await s.request({
    method: "PUT",
    path: s.session,
    headers: { "content-range": `bytes */${s.size}` },
    body: new Uint8Array(0),
    signal: s.signal,
    action: `${s.action} (resume)`,
    pass: [308, 404, 410],
  });
  if (response.status === 404 || response.status === 410) throw sessionGone(s);
  if (response.status !== 308) return response;
  await discardBody(response);
  return persisted(response);
}

/** The session expired or was cancelled: the whole upload starts again (a new session). */
function sessionGone(s: ResumableSession): StoreError {
  return new StoreError(
    `Could not ${s.action} in '${s.remote}': the upload session expired; retry.`,
    { transient: true, data: { sessionGone: true } },
  );
}

/** Best effort: a failed session should not linger (it expires after a week anyway). */
async function cancelSession(s: ResumableSession) {
  try {
    const response = await s.request({
      method: "DELETE",
      path: s.session,
      signal: AbortSignal.timeout(10_000),
      action: `${s.action} (cancel)`,
      pass: [404, 410, 499],
    });
    await discardBody(response);
  } catch {
    // an unfinished session is invisible; it expires by itself
  }
}
