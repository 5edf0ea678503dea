import { DxpError, ExitCode } from "../errors/mod.ts";
import { redactUrl } from "../util/mod.ts";

/**
 * Turns any thrown value into DVC's one-line error form and an exit code:
 * `ERROR: <message>` with causes appended as `: <cause>` (spec §2.1).
 * Unexpected errors get DVC's "unexpected error" prefix; never a stack trace.
 */
export function describeError(error: unknown): { line: string; exitCode: number } {
  if (error instanceof DxpError) {
    return { line: `ERROR: ${redactUrl(chain(error))}`, exitCode: error.exitCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    line: `ERROR: unexpected error - ${redactUrl(message)}`,
    exitCode: ExitCode.failure,
  };
}

/**
 * Our deliberate chains (a DxpError raised from another DxpError) are shown
 * as DVC shows them; a runtime error underneath (ECONNREFUSED, ENOENT…) is
 * already summarised in our message and stays out of the line.
 */
function chain(error: Error): string {
  const parts = [error.message];
  let cause: unknown = error.cause;
  for (let depth = 0; cause instanceof DxpError && depth < 5; depth++) {
    if (cause.message && !parts.includes(cause.message)) parts.push(cause.message);
    cause = cause.cause;
  }
  return parts.join(": ");
}
