import { AuthError, type DxpError, StoreError } from "../../errors/mod.ts";
import { parseRetryAfter } from "../errors.ts";
import { googleErrorDetail } from "../google/error_body.ts";

/** Drive's per-user and per-project quota answers (403), retried like 429. */
export const RATE_LIMIT_REASONS = new Set(["userRateLimitExceeded", "rateLimitExceeded"]);

/** What the request was for, to name it in the message. */
export interface DriveFailureContext {
  readonly action: string;
  readonly remote: string;
  /** Where the credentials came from ("the user credentials '/…/default.json'"). */
  readonly credentials: string;
}

/**
 * One Drive API error → one typed error: rate limits (403
 * userRateLimitExceeded/rateLimitExceeded, 429), 408 and 5xx are transient
 * with Retry-After; a file Drive flags as abuse says to set
 * gdrive_acknowledge_abuse; 401/403 are AuthErrors (with DVC's advice for
 * shared-drive permissions); 404 is "not found".
 */
export function driveResponseError(
  status: number,
  body: string,
  retryAfter: string | null,
  context: DriveFailureContext,
): DxpError {
  const { reason, message, location } = googleErrorDetail(body);
  const label = `HTTP ${status}${reason === "" ? "" : ` ${reason}`}`;
  const said = message === "" ? "" : `: ${message}`;
  const data = { status, reason, remote: context.remote };
  if (status === 404) {
    return new StoreError(
      `Could not ${context.action} in '${context.remote}': it does not exist (${label}).`,
      { data: { ...data, notFound: true } },
    );
  }
  if (RATE_LIMIT_REASONS.has(reason) || status === 429 || status === 408 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new StoreError(
      `Could not ${context.action} in '${context.remote}': Google Drive answered ${label}; ` +
        "retry later.",
      retryAfterMs === undefined
        ? { transient: true, data }
        : { transient: true, retryAfterMs, data },
    );
  }
  if (reason === "cannotDownloadAbusiveFile" || /malware or spam/i.test(message)) {
    return new StoreError(
      `Could not ${context.action} in '${context.remote}': Google Drive flags the file as ` +
        `malware or spam (${label}); set gdrive_acknowledge_abuse to true to download it anyway.`,
      { data },
    );
  }
  if (status === 403 && location === "file.permissions") {
    return new AuthError(
      `Could not ${context.action} in '${context.remote}' (${label}${said}): in a shared drive, ` +
        "moving to trash needs the Content Manager role and deleting the Manager role.",
      { data },
    );
  }
  if (status === 401 || status === 403) {
    return new AuthError(
      `Google Drive refused to ${context.action} in '${context.remote}' (${label}${said}): ` +
        `check ${context.credentials} and that the folder is shared with that account.`,
      { data },
    );
  }
  return new StoreError(
    `Could not ${context.action} in '${context.remote}': Google Drive answered ${label}${said}.`,
    { data },
  );
}
