import { AuthError, type DxpError, StoreError } from "../../errors/mod.ts";
import { parseRetryAfter } from "../errors.ts";
import { googleErrorDetail } from "../google/error_body.ts";

/** What the request was for, to name it in the message. */
export interface GcsFailureContext {
  /** Verb phrase: "upload 'files/md5/ab/cd'". */
  readonly action: string;
  /** The remote as users know it (`gs://bucket/prefix`). */
  readonly remote: string;
  /** Where the credentials came from ("service account 'x' from '/k.json' (…)"). */
  readonly credentials: string;
}

const RATE_LIMIT_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded"]);

/**
 * One JSON API error → one typed error: 401/403 are AuthErrors (except 403
 * rate limits), 408/429/5xx and rate-limit reasons are transient with
 * Retry-After, a 400 MD5 mismatch (the body was damaged on the way) is
 * transient, 404 is "not found", the rest permanent.
 */
export function gcsResponseError(
  status: number,
  body: string,
  retryAfter: string | null,
  context: GcsFailureContext,
): DxpError {
  const { reason, message } = googleErrorDetail(body);
  const label = `HTTP ${status}${reason === "" ? "" : ` ${reason}`}`;
  const said = message === "" ? "" : `: ${message}`;
  const data = { status, reason, remote: context.remote };
  if (status === 404) {
    return new StoreError(
      `Could not ${context.action} in '${context.remote}': the object does not exist (${label}).`,
      { data: { ...data, notFound: true } },
    );
  }
  const rateLimited = RATE_LIMIT_REASONS.has(reason);
  if ((status === 401 || status === 403) && !rateLimited) {
    const anonymous = /anonymous/.test(context.credentials);
    return new AuthError(
      `Google Cloud Storage refused to ${context.action} in '${context.remote}' (${label}${said}): ` +
        (anonymous
          ? "no credentials were found; set credentialpath with 'dxp remote modify --local', " +
            "or GOOGLE_APPLICATION_CREDENTIALS, or run 'gcloud auth application-default login'."
          : `check ${context.credentials} and its access to the bucket.`),
      { data },
    );
  }
  if (status === 400 && /md5/i.test(message)) {
    return new StoreError(
      `Could not ${context.action} in '${context.remote}': the bytes were damaged on the way ` +
        `(${label}${said}); retry later.`,
      { transient: true, data },
    );
  }
  if (status === 408 || status === 429 || status >= 500 || rateLimited) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new StoreError(
      `Could not ${context.action} in '${context.remote}': Google answered ${label}; retry later.`,
      retryAfterMs === undefined
        ? { transient: true, data }
        : { transient: true, retryAfterMs, data },
    );
  }
  return new StoreError(
    `Could not ${context.action} in '${context.remote}': Google answered ${label}${said}.`,
    { data },
  );
}
