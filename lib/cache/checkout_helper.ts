import { StoreError } from "../errors/mod.ts";
import { type FreshJob, type FreshOutcome, packFreshJob, runFreshJob } from "./fresh_job.ts";
import { nativeFreshAvailable } from "./place_fresh_native.ts";
import { type LstatJob, type LstatOutcome, packLstatJob, runLstatJob } from "../util/lstat_job.ts";
import type { CheckoutMessage } from "./checkout_worker.ts";

/**
 * Files of a directory output below which no helper thread is started:
 * measured on a new output, it neither helps nor hurts up to ~20,000 files
 * (its start-up eats what it saves) and costs ~8 MB; from there on it does
 * (100,000 files: a quarter less time).
 */
export const HELPER_AT = 4096;

/** Jobs the helper may hold at once: enough that it never waits for the main thread's next turn. */
const MAX_QUEUED = 4;

/**
 * A second thread for the checkout of a big directory output: it places
 * the files of a new one while the main thread reads the manifest, records
 * stamps and reports progress, and looks up (lstat) the files of one in
 * the workspace while the main thread reads the manifest and matches the
 * stamps. Both are mostly kernel time, and a second core takes part of it
 * off the main thread. When the helper has {@link MAX_QUEUED} jobs, or
 * before it has started, the main thread does the job itself, so the two
 * share the work as they can.
 *
 * The helper writes only inside the fresh folder being built (see
 * `buildFresh`), which is renamed into place only after {@link settle}; a
 * helper that cannot start changes nothing (its jobs run here); one that
 * fails after starting makes {@link settle} throw when it was placing
 * files (the folder is then thrown away), and hands back its lookups.
 */
export class CheckoutHelper {
  #worker: Worker | undefined;
  #ready = false;
  #failure: unknown;
  /**
   * The jobs sent, in order (the helper answers in order): what to call with
   * each answer, and for a job that changes nothing, how to do it here
   * should the helper die first.
   */
  readonly #waiting: {
    done: (outcome: never, byHelper: boolean) => void;
    redo?: (() => void) | undefined;
  }[] = [];
  #whenIdle: (() => void) | undefined;
  /** Names the thread looked up (lstat jobs it answered). */
  lookedUp = 0;

  /**
   * With `thread`, a helper thread when this process can run one with libc;
   * otherwise (and until it has started) every job runs on the main thread.
   */
  static start(thread: boolean): CheckoutHelper {
    const helper = new CheckoutHelper();
    if (thread && nativeFreshAvailable()) helper.#spawn();
    return helper;
  }

  /** True when jobs may go to the helper thread (it started and did not fail). */
  get threaded(): boolean {
    return this.#ready && this.#worker !== undefined;
  }

  /** True while the thread is starting: its "ready" comes on a turn of the event loop. */
  get starting(): boolean {
    return !this.#ready && this.#worker !== undefined;
  }

  /**
   * Waits until the thread has started, or failed to, for at most
   * `timeoutMs` (a thread that never answers leaves the work here).
   */
  async whenReady(timeoutMs = 2000): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (this.starting && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Places `job`'s files: in the helper when it has room, else here and now.
   * `done` gets the outcome, on a later turn of the event loop or before
   * this returns. Throws (here or in {@link settle}) once the helper failed.
   */
  submit(job: FreshJob, done: (outcome: FreshOutcome, byHelper: boolean) => void): void {
    this.#throwIfFailed();
    if (this.#post({ kind: "fresh", job: packFreshJob(job) }, done)) return;
    done(runFreshJob(job), false);
  }

  /**
   * The lstat calls of `job` (see {@link LstatJob}): made by the helper once
   * it has started, else here and now. Unlike placing jobs they are not
   * limited to {@link MAX_QUEUED}: the caller, who has its own work for the
   * main thread (reading the manifest, matching stamps, listing the
   * workspace), bounds how many it asks ahead. Outcomes come in the order
   * asked when awaited in that order.
   */
  lstat(job: LstatJob): Promise<LstatOutcome> {
    this.#throwIfFailed();
    return new Promise((resolve, reject) => {
      const here = () => {
        try {
          resolve(runLstatJob(job));
        } catch (error) {
          reject(error);
        }
      };
      const answered = (outcome: LstatOutcome) => {
        this.lookedUp += job.names.length;
        resolve(outcome);
      };
      if (
        !this.threaded ||
        !this.#post({ kind: "lstat", job: packLstatJob(job) }, answered, here, Infinity)
      ) {
        here();
      }
    });
  }

  /** Sends `message` to the helper when it has room; false when the caller must do the job. */
  #post<T>(
    message: CheckoutMessage,
    done: (outcome: T, byHelper: boolean) => void,
    redo?: () => void,
    limit = MAX_QUEUED,
  ): boolean {
    if (!this.threaded || this.#waiting.length >= limit) return false;
    this.#waiting.push({ done: done as (outcome: never, byHelper: boolean) => void, redo });
    this.#worker!.postMessage(message);
    return true;
  }

  /**
   * Waits until every job sent to the helper is answered (so it writes
   * nothing more); then throws what failed, if anything did.
   */
  async settle(): Promise<void> {
    if (this.#waiting.length > 0) {
      await new Promise<void>((resolve) => (this.#whenIdle = resolve));
    }
    this.#throwIfFailed();
  }

  /** Stops the helper thread (after {@link settle}: it then has nothing left to do). */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #spawn(): void {
    let worker: Worker;
    try {
      worker = new Worker(helperUrl(), { type: "module" });
    } catch {
      return; // no threads here: every job runs on the main thread
    }
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<never | "ready">) => {
      if (event.data === "ready") {
        this.#ready = true;
        return;
      }
      const job = this.#waiting.shift();
      // An error in `done` belongs to the caller: kept, and thrown by submit
      // and settle, which still waits for the jobs already sent.
      try {
        job?.done(event.data, true);
      } catch (error) {
        this.#failure ??= error;
      }
      if (this.#waiting.length === 0) this.#wake();
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#worker = undefined;
      worker.terminate();
      // Before "ready" it never ran a job: nothing to undo, the main thread goes on alone.
      if (!this.#ready) return;
      // Its unanswered jobs will never be: lookups are made here instead; a
      // placing job may have left anything in its folder, so that fails.
      const lost = this.#waiting.splice(0);
      if (lost.some((job) => job.redo === undefined)) {
        this.#failure ??= new StoreError(
          `The checkout's helper thread failed (${event.message}); run the command again.`,
        );
      }
      for (const job of lost) job.redo?.();
      this.#wake();
    };
  }

  #wake(): void {
    const wake = this.#whenIdle;
    this.#whenIdle = undefined;
    wake?.();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/**
 * Where the helper's code is: in the compiled binary every module is in one
 * bundle under `/$bunfs/root/`, the helper being its second entry point
 * named by its path in the project; from source, next to this file.
 */
function helperUrl(): string {
  if (import.meta.url.includes("/$bunfs/")) return "./lib/cache/checkout_worker.ts";
  return new URL("./checkout_worker.ts", import.meta.url).href;
}
