import type { ChildProcess } from "node:child_process";

/** How a child process ended: its exit code or signal (both null when it never started). */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** How long the pipes of an exited child may stay open before its exit stands on its own. */
const EXIT_GRACE_MS = 500;

/**
 * Resolves when `child` has ended: on "close" (exited and every pipe closed),
 * or EXIT_GRACE_MS after "exit" when a pipe is still open then. An ssh with
 * `ControlPersist` leaves its background master holding stdout/stderr, so
 * "close" comes only when that master ends, minutes later; the command must
 * not wait for it (the Git protocol was over before ssh exited). The grace
 * lets the last stderr bytes arrive for error messages. `onError` sees a
 * spawn failure (then code and signal are null).
 */
export function childSettled(
  child: ChildProcess,
  onError?: (error: Error) => void,
): Promise<ChildExit> {
  return new Promise<ChildExit>((resolve) => {
    let grace: ReturnType<typeof setTimeout> | undefined;
    child.on("error", (error) => {
      onError?.(error);
      resolve({ code: null, signal: null });
    });
    child.on("exit", (code, signal) => {
      grace = setTimeout(() => resolve({ code, signal }), EXIT_GRACE_MS);
    });
    child.on("close", (code, signal) => {
      clearTimeout(grace);
      resolve({ code, signal });
    });
  });
}
