import type { ChildProcess } from "node:child_process";
import { processExists } from "./process_exists.ts";

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
  child: Pick<ChildProcess, "on" | "pid" | "exitCode" | "signalCode">,
  onError?: (error: Error) => void,
): Promise<ChildExit> {
  return new Promise<ChildExit>((resolve) => {
    let grace: ReturnType<typeof setTimeout> | undefined;
    const settle = (exit: ChildExit) => {
      clearTimeout(grace);
      clearInterval(watch);
      resolve(exit);
    };
    const exited = (code: number | null, signal: string | null) => {
      grace ??= setTimeout(() => settle({ code, signal }), EXIT_GRACE_MS);
    };
    // The runtime has been seen (once, under load) to leave a command waiting, its event loop
    // spinning, with the child gone: if the process no longer exists and no event came, its
    // end is taken as seen.
    const watch = setInterval(() => {
      if (child.pid !== undefined && !processExists(child.pid)) {
        exited(child.exitCode, child.signalCode);
      }
    }, WATCH_MS);
    child.on("error", (error) => {
      onError?.(error);
      settle({ code: null, signal: null });
    });
    child.on("exit", (code, signal) => exited(code, signal));
    child.on("close", (code, signal) => settle({ code, signal }));
  });
}

/** How often a running child is checked for having vanished without an event. */
const WATCH_MS = 1000;
