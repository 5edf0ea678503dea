import { AuthError, ConfigError, DxpError, InterruptedError, StoreError } from "../errors/mod.ts";
import { redactUrl } from "../util/redact.ts";

/**
 * Error classification shared by every Store backend: an errno or an HTTP
 * status becomes one typed error whose message names what failed. Backends
 * only classify; the retry wrapper and the transfer queue decide what to do
 * with `transient`, `retryAfterMs` and `stopsQueue()`.
 */

/** What a backend was doing when it failed. */
export interface FailureContext {
  /**
   * A verb phrase naming the values involved, quoted: "upload 'files/md5/ab/cd…'
   * to 's3://bucket/x'". The message reads `Failed to <action>: <why>; <advice>.`
   * (URLs in it are redacted).
   */
  readonly action: string;
  /** The path or URL involved, kept in `data.where` (redacted). */
  readonly where: string;
}

/** errnos that will not go away by retrying and affect the whole store. */
const STORE_WIDE = new Set(["ENOSPC", "EDQUOT", "EROFS"]);
/** errnos worth retrying after a pause. */
const TRANSIENT_ERRNO = new Set([
  "EMFILE",
  "ENFILE",
  "EAGAIN",
  "EBUSY",
  "EINTR",
  "ESTALE",
  "ETIMEDOUT",
  "ECONNRESET",
  "ECONNABORTED",
  "ECONNREFUSED",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  ENOTDIR: "a parent is not a folder",
  EISDIR: "it is a folder",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EAGAIN: "resource temporarily unavailable",
  EBUSY: "resource busy",
  ESTALE: "stale file handle",
  EIO: "input/output error",
  ETIMEDOUT: "timed out",
  ECONNRESET: "connection reset",
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "temporary DNS failure",
};

/** The `code` of a Node-style system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Turns a file-system or socket error into a StoreError with one clear line:
 * ENOSPC/EDQUOT/EROFS are permanent and stop the queue (`data.storeWide`),
 * EMFILE/EAGAIN/ESTALE/resets are transient, the rest permanent. Errors that
 * are already typed (DxpError) pass through unchanged.
 */
export function storeErrorFromErrno(error: unknown, context: FailureContext): DxpError {
  if (isDxpError(error)) return error;
  const code = errnoCode(error);
  const where = redactUrl(context.where);
  const why = code === undefined
    ? (error instanceof Error ? error.message : String(error))
    : `${ERRNO_TEXT[code] ?? "system error"} (${code})`;
  const transient = code !== undefined && TRANSIENT_ERRNO.has(code);
  const storeWide = code !== undefined && STORE_WIDE.has(code);
  const advice = storeWide
    ? "free space or fix the file system and retry"
    : transient
    ? "retry later"
    : "check the path and its permissions";
  return new StoreError(`Failed to ${redactUrl(context.action)}: ${why}; ${advice}.`, {
    cause: error,
    transient,
    data: { errno: code, where, storeWide },
  });
}

/**
 * Classifies an HTTP response status: 401/403 → AuthError (stops the queue),
 * 408/425/429/5xx → transient StoreError honouring Retry-After, 404 and other
 * 4xx → permanent StoreError. `retryAfter` is the raw header value.
 */
export function storeErrorFromStatus(
  status: number,
  context: FailureContext & { readonly retryAfter?: string | null; readonly detail?: string },
  now: number = Date.now(),
): DxpError {
  const where = redactUrl(context.where);
  const detail = context.detail ? ` (${context.detail})` : "";
  const data = { status, where };
  if (status === 401 || status === 403) {
    return new AuthError(
      `Failed to ${redactUrl(context.action)}: access denied (HTTP ${status})${detail}; ` +
        "check the remote's credentials and permissions.",
      { data },
    );
  }
  const transient = status === 408 || status === 425 || status === 429 || status >= 500;
  const retryAfterMs = transient ? parseRetryAfter(context.retryAfter ?? null, now) : undefined;
  const advice = transient ? "retry later" : "check the remote URL and the object";
  return new StoreError(
    `Failed to ${redactUrl(context.action)}: HTTP ${status}${detail}; ${advice}.`,
    retryAfterMs === undefined ? { transient, data } : { transient, retryAfterMs, data },
  );
}

/**
 * A network failure (fetch TypeError, socket reset, DNS) as a StoreError:
 * transient unless the host does not resolve at all.
 */
export function storeErrorFromNetwork(error: unknown, context: FailureContext): DxpError {
  if (isDxpError(error)) return error;
  const code = errnoCode(error) ?? errnoCode((error as { cause?: unknown } | null)?.cause);
  const where = redactUrl(context.where);
  const raw = error instanceof Error ? error.message : String(error);
  const why = code !== undefined
    ? `${ERRNO_TEXT[code] ?? redactUrl(raw)} (${code})`
    : redactUrl(raw);
  const transient = code !== "ENOTFOUND";
  return new StoreError(
    `Failed to ${redactUrl(context.action)}: ${why}; ` +
      (transient ? "retry later." : "check the remote URL."),
    { cause: error, transient, data: { errno: code, where } },
  );
}

/**
 * Parses a Retry-After header (delta seconds or an HTTP date) into
 * milliseconds from `now`; undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()) {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** True when an error says the object (or its file) does not exist: ENOENT or HTTP 404. */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof StoreError)) return false;
  return error.data["errno"] === "ENOENT" || error.data["status"] === 404;
}

/** True when retrying the same call may succeed. */
export function isTransient(error: unknown): boolean {
  return error instanceof StoreError && error.transient;
}

/**
 * True when an error means no further transfer to this store can succeed:
 * authentication, configuration, a full or read-only store, or interruption.
 */
export function stopsQueue(error: unknown): boolean {
  if (error instanceof AuthError || error instanceof ConfigError) return true;
  if (error instanceof InterruptedError) return true;
  return error instanceof StoreError && error.data["storeWide"] === true;
}

function isDxpError(error: unknown): error is DxpError {
  return error instanceof DxpError;
}
