import { AuthError, type DxpError, StoreError } from "../../errors/mod.ts";
import { parseRetryAfter } from "../errors.ts";

/** What the request was for, to name it in the message. */
export interface AzureFailureContext {
  /** Verb phrase: "upload 'files/md5/ab/cd'". */
  readonly action: string;
  /** The remote as users know it (`azure://container/prefix`). */
  readonly remote: string;
  readonly container: string;
  /** How the requests were authorised ("the account key (AZURE_STORAGE_KEY)"), for advice. */
  readonly authSource: string;
  /** The first line of the XML body's `<Message>`, if any. */
  readonly message?: string;
}

/** Error codes that mean the request may succeed later (besides 408/429/5xx). */
const TRANSIENT_CODES = new Set([
  "ServerBusy",
  "OperationTimedOut",
  "InternalError",
  "Crc64Mismatch", // the body was damaged on the way: sending it again fixes it
]);

/**
 * One Blob-service error → one typed error. `code` is `x-ms-error-code` (or
 * the `<Code>` of the XML body). Credential problems are AuthErrors (the
 * queue stops); ServerBusy, 408, 429 and 5xx other than 501/505 are transient
 * and carry Retry-After; 404 BlobNotFound is "not found"; a missing container
 * is its own permanent error.
 */
export function azureResponseError(
  status: number,
  code: string,
  retryAfter: string | null,
  context: AzureFailureContext,
): DxpError {
  const { remote, container, action } = context;
  const data = { status, azureCode: code, remote };
  const label = code === "" ? `HTTP ${status}` : `HTTP ${status} ${code}`;
  // Azurite names a Content-MD5 mismatch InvalidOperation, with the reason in the message.
  const md5Mismatch = code === "Md5Mismatch" ||
    (status === 400 && /content-?md5/i.test(context.message ?? ""));
  if (code === "ContainerNotFound") {
    return new StoreError(
      `Container '${container}' does not exist (remote '${remote}'): create it or fix the ` +
        "remote's URL.",
      // no `status`: a missing container must not read as a missing object (isNotFound)
      { data: { httpStatus: status, azureCode: code, remote, containerMissing: true } },
    );
  }
  if (status === 404) {
    return new StoreError(
      `Could not ${action} in '${remote}': the object does not exist (${label}).`,
      { data: { ...data, notFound: true } },
    );
  }
  if (status === 401 || status === 403) {
    if (context.authSource === "anonymous") {
      return new AuthError(
        `Azure refused anonymous access to ${action} in '${remote}' (${label}): anonymous ` +
          "access can only read a public container; set account_key, sas_token or " +
          "connection_string with 'dxp remote modify --local'.",
        { data },
      );
    }
    // A wrong key reads as AuthenticationFailed on Azure and AuthorizationFailure on Azurite.
    return new AuthError(
      `Azure refused access to ${action} in '${remote}' (${label}): check ${context.authSource}; ` +
        "the credentials must be valid and allowed to read, write, list and delete in " +
        `container '${container}'.`,
      { data },
    );
  }
  if (md5Mismatch) {
    return new StoreError(
      `Could not ${action} in '${remote}': the bytes were damaged on the way (${label}` +
        `${code === "Md5Mismatch" ? "" : `: ${context.message}`}); retry later.`,
      { transient: true, data },
    );
  }
  if (
    status === 408 || status === 429 || TRANSIENT_CODES.has(code) ||
    (status >= 500 && status !== 501 && status !== 505)
  ) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new StoreError(
      `Could not ${action} in '${remote}': Azure answered ${label}; retry later.`,
      retryAfterMs === undefined
        ? { transient: true, data }
        : { transient: true, retryAfterMs, data },
    );
  }
  return new StoreError(`Could not ${action} in '${remote}': Azure answered ${label}.`, { data });
}
