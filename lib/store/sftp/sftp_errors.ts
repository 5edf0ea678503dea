/**
 * SFTP failures as the shared store errors: a missing file is ENOENT (so
 * `isNotFound` works), permission denied names the path, a server-side
 * "Failure" while writing into a full file system is ENOSPC (store-wide),
 * and a dead ssh connection stays the transient error the session raised.
 */
import { DxpError, StoreError } from "../../errors/mod.ts";
import { redactUrl } from "../../util/redact.ts";
import { type FailureContext, storeErrorFromErrno } from "../errors.ts";
import { FX } from "./packet.ts";
import { SftpStatusError } from "./sftp_client.ts";

/** Classifies an error thrown while talking SFTP. */
export function sftpError(error: unknown, context: FailureContext): DxpError {
  if (error instanceof DxpError) return error;
  if (error instanceof SftpStatusError && error.code === undefined) {
    const unsupported = error.status === FX.OP_UNSUPPORTED;
    return new StoreError(
      `Failed to ${redactUrl(context.action)}: the SFTP server answered '${error.message}'; ` +
        (unsupported
          ? "the server does not support this operation."
          : "check the path, its permissions and the free space on the server."),
      { cause: error, data: { where: redactUrl(context.where), sftpStatus: error.status } },
    );
  }
  return storeErrorFromErrno(error, context);
}

/** A "no space left" error for `context` (the server reported a failure on a full disk). */
export function noSpaceError(cause: unknown, context: FailureContext): DxpError {
  return storeErrorFromErrno(
    Object.assign(new Error("no space"), { code: "ENOSPC", cause }),
    context,
  );
}

/** True for the server's generic failure status (what ENOSPC, EDQUOT and EIO become in SFTP v3). */
export function isGenericFailure(error: unknown): boolean {
  return error instanceof SftpStatusError && error.status === FX.FAILURE;
}

/** True when the server says the path does not exist. */
export function isNoSuchFile(error: unknown): boolean {
  return error instanceof SftpStatusError && error.status === FX.NO_SUCH_FILE;
}
