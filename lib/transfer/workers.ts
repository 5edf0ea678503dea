import { abortError } from "../store/abort.ts";
import { GarbagePacer } from "../util/collect_garbage.ts";

/** Options of {@link runWorkers}. */
export interface WorkerOptions<T = unknown> {
  /** At most this many items in flight. */
  readonly jobs: number;
  readonly signal?: AbortSignal | undefined;
  /** Run the first item alone, so a wrong credential costs one failed request, not `jobs`. */
  readonly gate?: boolean;
  /**
   * Handles an item synchronously when it can (a small local file) and says
   * so; false hands it to `work`. Saves a promise per item where the copy
   * itself takes a few system calls.
   */
  readonly trySync?: ((item: T) => boolean) | undefined;
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
  options: WorkerOptions<T>,
): Promise<WorkersOutcome> {
  const { signal, trySync } = options;
  let stoppedBy: Error | undefined;
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    stoppedBy ??= abortError(signal!);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  let sliceStart = performance.now();
  const stop = (error: unknown) => {
    stoppedBy ??= error instanceof Error ? error : new Error(String(error));
  };
  const due = () => performance.now() - sliceStart > SLICE_MS;
  const yieldTurn = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const one = async (item: T) => {
    try {
      await work(item);
    } catch (error) {
      stop(error);
    }
    if (due()) await yieldTurn();
  };
  const handledSync = (item: T): boolean => {
    try {
      return trySync!(item);
    } catch (error) {
      stop(error);
      return true;
    }
  };
  const pacer = new GarbagePacer();
  const worker = async () => {
    while (stoppedBy === undefined) {
      const item = next();
      if (item === undefined) return;
      pacer.step();
      if (trySync === undefined || !handledSync(item)) await one(item);
      else if (due()) await yieldTurn();
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
