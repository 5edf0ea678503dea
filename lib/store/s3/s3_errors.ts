import { AuthError, type DxpError, StoreError } from "../../errors/mod.ts";
import { parseRetryAfter } from "../errors.ts";

/** What the request was for, to name it in the message. */
export interface S3FailureContext {
  /** Verb phrase: "upload 'files/md5/ab/cd'", "list 'files/md5/'". */
  readonly action: string;
  /** The remote as users know it (`s3://bucket/prefix`). */
  readonly remote: string;
  readonly bucket: string;
}

const TRANSIENT_CODES = new Set([
  "SlowDown",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
  "OperationAborted",
  "Throttling",
  "ThrottlingException",
  "RequestThrottled",
  "BadDigest",
  "XAmzContentSHA256Mismatch",
  "IncompleteBody",
]);

const TOKEN_CODES = new Set(["ExpiredToken", "InvalidToken", "TokenRefreshRequired"]);

/**
 * One S3 error response → one typed error. Credential and permission
 * problems are AuthError (no object can succeed, the queue stops); throttling,
 * 5xx and damaged-in-transit answers are transient and carry Retry-After; the
 * rest are permanent StoreErrors. `code` is the `<Code>` of the error body
 * (empty for HEAD, whose errors have no body).
 */
export function s3ResponseError(
  status: number,
  code: string,
  retryAfter: string | null,
  context: S3FailureContext,
): DxpError {
  const { remote, bucket, action } = context;
  const data = { status, s3Code: code, remote };
  const label = code === "" ? `HTTP ${status}` : `HTTP ${status} ${code}`;
  if (code === "NoSuchBucket") {
    return new StoreError(
      `Bucket '${bucket}' does not exist (remote '${remote}'): create it or fix the remote's URL.`,
      // no `status`: a missing bucket must not read as a missing object (isNotFound)
      { data: { httpStatus: status, s3Code: code, remote, bucketMissing: true } },
    );
  }
  if (code === "NoSuchKey" || (status === 404 && code === "")) {
    return new StoreError(
      `Could not ${action} in '${remote}': the object does not exist (${label}).`,
      {
        data: { ...data, notFound: true },
      },
    );
  }
  if (code === "SignatureDoesNotMatch") {
    return new AuthError(
      `S3 rejected the secret access key used for '${remote}' (SignatureDoesNotMatch): fix ` +
        "secret_access_key with 'dxp remote modify --local', or AWS_SECRET_ACCESS_KEY, or the profile.",
      { data },
    );
  }
  if (code === "InvalidAccessKeyId") {
    return new AuthError(
      `S3 does not know the access key id used for '${remote}' (InvalidAccessKeyId): fix ` +
        "access_key_id with 'dxp remote modify --local', or AWS_ACCESS_KEY_ID, or the profile.",
      { data },
    );
  }
  if (TOKEN_CODES.has(code)) {
    return new AuthError(
      `The AWS session token used for '${remote}' is expired or invalid (${code}): renew it.`,
      { data },
    );
  }
  if (code === "RequestTimeTooSkewed") {
    return new AuthError(
      `S3 refused requests for '${remote}' because this machine's clock is off ` +
        "(RequestTimeTooSkewed): fix the system time.",
      { data },
    );
  }
  if (status === 401 || status === 403) {
    return new AuthError(
      `Access denied: could not ${action} in '${remote}' (${label}): the credentials need ` +
        "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket.",
      { data },
    );
  }
  if (
    (status === 301 || status === 307 || code === "PermanentRedirect" ||
      code === "AuthorizationHeaderMalformed")
  ) {
    return new StoreError(
      `Bucket '${bucket}' is in another region (${label}): set the remote's 'region' option.`,
      { data },
    );
  }
  if (status >= 500 || status === 429 || TRANSIENT_CODES.has(code)) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new StoreError(
      `Could not ${action} in '${remote}': S3 answered ${label}; retry later.`,
      retryAfterMs === undefined
        ? { transient: true, data }
        : { transient: true, retryAfterMs, data },
    );
  }
  return new StoreError(`Could not ${action} in '${remote}': S3 answered ${label}.`, { data });
}
