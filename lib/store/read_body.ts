import { StoreError } from "../errors/mod.ts";
import { redactUrl } from "../util/redact.ts";
import { classifyFetchFailure } from "./http_fetch.ts";

/**
 * Reading response bodies a server controls, in bounded memory: a listing or
 * an answer is read up to a limit (a server can send gigabytes where a page
 * of XML or JSON belongs), an error body only for its first bytes, and a body
 * nobody needs is dropped once it is longer than a few kilobytes.
 */

/** Largest answer read as text (a list page of 1,000 keys is about 300 kB). */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** What is read of an error body: enough for its code and message. */
export const ERROR_BODY_BYTES = 64 * 1024;
/** Bodies at most this long are read to their end so the connection can be reused. */
const DRAIN_BYTES = 64 * 1024;

const decoder = () => new TextDecoder();

/** Up to `limit` bytes of the body; `cut` when there was more (the rest is cancelled). */
async function readUpTo(
  response: Response,
  limit: number,
): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const reader = response.body?.getReader();
  if (reader === undefined) return { bytes: new Uint8Array(0), cut: false };
  const parts: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > limit) {
        parts.push(value.subarray(0, limit - size));
        size = limit;
        cut = true;
        break;
      }
      parts.push(value);
      size += value.length;
    }
  } finally {
    if (cut) await reader.cancel().catch(() => {});
    else reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, cut };
}

/**
 * A response body as text, at most `limit` bytes of it; a longer body is a
 * StoreError, and a body cut short on the wire (reset, timeout) the same
 * transient StoreError as a failed request, naming `action`.
 */
export async function readBodyText(
  response: Response,
  context: {
    readonly action: string;
    readonly where: string;
    readonly signal?: AbortSignal | undefined;
  },
  limit = MAX_ANSWER_BYTES,
): Promise<string> {
  let read;
  try {
    read = await readUpTo(response, limit);
  } catch (error) {
    throw classifyFetchFailure(error, context, undefined, 0);
  }
  if (read.cut) {
    throw new StoreError(
      `Failed to ${context.action} at '${redactUrl(context.where)}': the server's answer is ` +
        `longer than ${limit} bytes, more than such an answer can be; check the remote's URL.`,
      { data: { where: redactUrl(context.where), limit } },
    );
  }
  return decoder().decode(read.bytes);
}

/**
 * The start of an error body (its code and message), at most `limit` bytes;
 * the rest is never read. Never throws: an unreadable body is "".
 */
export async function readErrorText(response: Response, limit = ERROR_BODY_BYTES): Promise<string> {
  try {
    return decoder().decode((await readUpTo(response, limit)).bytes);
  } catch {
    return "";
  }
}

/**
 * Drops a body nobody needs: a short one is read to its end (the
 * connection stays reusable), a long one is cancelled. Never throws.
 */
export async function discardBody(response: Response): Promise<void> {
  try {
    await readUpTo(response, DRAIN_BYTES);
  } catch {
    // a body that breaks while being dropped changes nothing
  }
}
