import { abortError } from "../store/abort.ts";
import { stopsQueue } from "../store/errors.ts";

/** Options of {@link runWorkers}. */
export interface WorkerOptions {
  /** At most this many items in flight. */
  readonly jobs: number;
  readonly signal?: AbortSignal | undefined;
  /** Run the first item alone, so a wrong credential costs one failed request, not `jobs`. */
  readonly gate?: boolean;
}

/** How a {@link runWorkers} run ended. */
export interface WorkersOutcome {
  /** The error that stopped every worker (auth, config, full or read-only store, abort). */
  readonly stoppedBy?: Error;
  /** True when the caller's signal stopped it. */
  readonly interrupted: boolean;
}

/**
 * Runs `work` over the items `next()` hands out, `jobs` at a time, without
 * ever holding more than `jobs` of them: the items are produced on demand
 * (from a digest set, a manifest being read), so a million objects cost no
 * more memory than ten. `work` reports a failure of its item by returning;
 * an error it throws that makes further transfers pointless (stopsQueue) or
 * an abort of `signal` stops the run, other thrown errors are the caller's
 * bug and stop it too. Work that completes synchronously (local files) is
 * cut into slices of a few ms so signals and timers still get their turn.
 */
export async function runWorkers<T>(
  next: () => T | undefined,
  work: (item: T) => Promise<void>,
  options: WorkerOptions,
): Promise<WorkersOutcome> {
  const { signal } = options;
  let stoppedBy: Error | undefined;
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    stoppedBy ??= abortError(signal!);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  let sliceStart = performance.now();
  const one = async (item: T) => {
    try {
      await work(item);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      if (!stopsQueue(e) && stoppedBy === undefined) stoppedBy = e;
      stoppedBy ??= e;
    }
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  };
  const worker = async () => {
    while (stoppedBy === undefined) {
      const item = next();
      if (item === undefined) return;
      await one(item);
    }
  };
  try {
    if (options.gate && stoppedBy === undefined) {
      const first = next();
      if (first !== undefined) await one(first);
    }
    await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return { ...(stoppedBy ? { stoppedBy } : {}), interrupted };
}

/** Longest stretch of synchronous work between two turns of the event loop. */
const SLICE_MS = 10;

/** Turns a generator into the `next()` {@link runWorkers} takes. */
export function nextOf<T>(items: Iterator<T>): () => T | undefined {
  let done = false;
  return () => {
    if (done) return undefined;
    const r = items.next();
    if (r.done) {
      done = true;
      return undefined;
    }
    return r.value;
  };
}
