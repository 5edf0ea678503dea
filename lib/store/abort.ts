import { DxpError, InterruptedError } from "../errors/mod.ts";

/** Throws InterruptedError (or the DxpError the signal was aborted with) once `signal` aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  throw abortError(signal);
}

/** The error an aborted `signal` stands for: its DxpError reason, else InterruptedError. */
export function abortError(signal: AbortSignal): DxpError {
  const reason: unknown = signal.reason;
  if (reason instanceof DxpError) return reason;
  return new InterruptedError(undefined, { cause: reason });
}

/** Waits `ms`; rejects as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
