import { StoreError } from "../errors/mod.ts";
import { type FreshJob, type FreshOutcome, packFreshJob, runFreshJob } from "./fresh_job.ts";
import { nativeFreshAvailable } from "./place_fresh_native.ts";

/** Jobs the helper may hold at once: enough that it never waits for the main thread's next turn. */
const MAX_QUEUED = 4;

/**
 * A second thread that places the files of a new directory output while
 * the main thread reads the manifest, records stamps and reports progress:
 * making 100,000 small files is mostly kernel time, and a second core
 * halves the part of it the main thread would otherwise wait for. When the
 * helper has {@link MAX_QUEUED} jobs, or before it has started, the main
 * thread does the job itself, so the two share the work as they can.
 *
 * The helper writes only inside the fresh folder being built (see
 * `writeFresh`), which is renamed into place after {@link settle}; a
 * helper that cannot start changes nothing (its jobs run here); one that
 * fails after starting makes {@link settle} throw, and the folder is
 * thrown away.
 */
export class FreshHelper {
  #worker: Worker | undefined;
  #ready = false;
  #failure: unknown;
  /** Callbacks of the jobs sent, in order (the helper answers in order). */
  readonly #waiting: ((outcome: FreshOutcome, byHelper: boolean) => void)[] = [];
  #whenIdle: (() => void) | undefined;

  /**
   * With `thread`, a helper thread when this process can run one with libc;
   * otherwise (and until it has started) every job runs on the main thread.
   */
  static start(thread: boolean): FreshHelper {
    const helper = new FreshHelper();
    if (thread && nativeFreshAvailable()) helper.#spawn();
    return helper;
  }

  /** True when jobs may go to the helper thread (it started and did not fail). */
  get threaded(): boolean {
    return this.#ready && this.#worker !== undefined;
  }

  /**
   * Places `job`'s files: in the helper when it has room, else here and now.
   * `done` gets the outcome, on a later turn of the event loop or before
   * this returns. Throws (here or in {@link settle}) once the helper failed.
   */
  submit(job: FreshJob, done: (outcome: FreshOutcome, byHelper: boolean) => void): void {
    this.#throwIfFailed();
    if (this.threaded && this.#waiting.length < MAX_QUEUED) {
      this.#waiting.push(done);
      this.#worker!.postMessage(packFreshJob(job));
      return;
    }
    done(runFreshJob(job), false);
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
    worker.onmessage = (event: MessageEvent<FreshOutcome | "ready">) => {
      if (event.data === "ready") {
        this.#ready = true;
        return;
      }
      const done = this.#waiting.shift();
      // An error in `done` belongs to the caller: kept, and thrown by submit
      // and settle, which still waits for the jobs already sent.
      try {
        done?.(event.data, true);
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
      this.#failure ??= new StoreError(
        `The checkout's helper thread failed (${event.message}); run the command again.`,
      );
      // Its unanswered jobs will never be: nothing more to wait for.
      this.#waiting.length = 0;
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
  if (import.meta.url.includes("/$bunfs/")) return "./lib/cache/fresh_worker.ts";
  return new URL("./fresh_worker.ts", import.meta.url).href;
}
