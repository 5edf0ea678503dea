/**
 * Turns what a failed ssh session left behind (exit status, stderr) into
 * one clear error naming the remote.
 */
import { AuthError, DxpError, GitRemoteError } from "../../errors/mod.ts";

export interface SshFailureContext {
  /** The URL as shown to users. */
  readonly displayUrl: string;
  /** `user@host:port` as DVC shows it in authentication errors. */
  readonly authTarget: string;
  /** The ssh program and where it came from, for "could not run" errors. */
  readonly program: string;
  readonly programSource: string;
}

export interface SshFailure {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly spawnError: Error | undefined;
  readonly cause: unknown;
}

const NOISE = [/^Warning: Permanently added/i, /^\*\*/, /^remote: *$/];
const AUTH =
  /permission denied|too many authentication failures|no more authentication methods|authentication failed/i;
const NOT_A_REPO =
  /does not appear to be a git repository|not a git repository|no such file or directory|not found|unknown command|invalid command|could not read from remote repository|repository .* does not exist/i;

/** The last meaningful stderr line, without git's "fatal: " prefix. */
export function lastStderrLine(stderr: string): string | undefined {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l !== "" && !NOISE.some((re) => re.test(l))
  );
  const last = lines.at(-1);
  return last?.replace(/^(fatal|error): */i, "").replace(/\.$/, "");
}

export function explainSshFailure(context: SshFailureContext, failure: SshFailure): Error {
  const url = context.displayUrl;
  if (failure.spawnError !== undefined) {
    return new GitRemoteError(
      `Could not run the ssh program '${context.program}' (from ${context.programSource}) for '${url}': ` +
        `${failure.spawnError.message}; install OpenSSH or set GIT_SSH_COMMAND.`,
      { cause: failure.spawnError },
    );
  }
  const last = lastStderrLine(failure.stderr);
  // ssh's own last words are the reason; the protocol symptom that surfaced
  // it ("closed the connection…") would only repeat it.
  if (last !== undefined) {
    if (AUTH.test(last)) {
      return new AuthError(`Authentication failed for: '${context.authTarget}' (${last}).`, {
        data: { url },
      });
    }
    if (NOT_A_REPO.test(last)) {
      return new GitRemoteError(`'${url}' is not a valid Git remote or URL (${last}).`, {
        data: { url },
      });
    }
    if (failure.code === 255) {
      return new GitRemoteError(`Could not connect to the Git remote '${url}': ${last}.`, {
        data: { url },
      });
    }
    return new GitRemoteError(`The Git remote '${url}' failed: ${last}.`, {
      cause: failure.cause,
      data: { url },
    });
  }
  if (failure.cause instanceof DxpError) return failure.cause;
  const status = failure.code ?? failure.signal ?? "unknown";
  return new GitRemoteError(
    `The ssh session to '${url}' ended unexpectedly (exit status ${status}).`,
    {
      cause: failure.cause,
      data: { url },
    },
  );
}
