import { StoreError } from "../errors/mod.ts";
import { type FreshJob, type FreshOutcome, packFreshJob, runFreshJob } from "./fresh_job.ts";
import { nativeFreshAvailable } from "./place_fresh_native.ts";
import { type LstatJob, type LstatOutcome, packLstatJob, runLstatJob } from "../util/lstat_job.ts";
import type { CheckoutAnswer, CheckoutMessage } from "./checkout_worker.ts";

/**
 * Files of a directory output below which no helper thread is started (its
 * start-up would eat what it saves; it costs ~8 MB). Measured on a new
 * output of 10,000 files, tmpfs, with and without it: copies 151 → 132 ms,
 * hard links 97 → 93 ms; 100,000 files: a quarter less time.
 */
export const HELPER_AT = 4096;

/** Jobs the helper may hold at once: enough that it never waits for the main thread's next turn. */
const MAX_QUEUED = 4;

/** A placing job's claim: 0 while free, then who took it (the thread writes 1, see checkout_worker). */
const CLAIMED_HERE = 2;

/** A job sent to the thread, until its answer comes. */
interface Waiting {
  /** The job's number, which its answer repeats. */
  seq: number;
  done: (outcome: never, byHelper: boolean) => void;
  /** How to do the job on this thread: when taken back, or when the thread is lost first. */
  here: () => void;
  /** A placing job's claim, shared with the thread (see {@link CheckoutHelper.takeBack}). */
  claim?: Int32Array | undefined;
  /** Taken back and done here: the thread's answer for it has no outcome. */
  takenBack?: boolean;
}

/** Takes `job`'s claim for this thread: false when the thread took it first (or it has none). */
function claimHere(job: Waiting): boolean {
  return job.claim !== undefined && Atomics.compareExchange(job.claim, 0, 0, CLAIMED_HERE) === 0;
}

/**
 * A second thread for the checkout of a big directory output: it places
 * the files of a new one while the main thread reads the manifest, records
 * stamps and reports progress, and looks up (lstat) the files of one in
 * the workspace while the main thread reads the manifest and matches the
 * stamps. Both are mostly kernel time, and a second core takes part of it
 * off the main thread. Placing jobs go to it from while it starts; when it
 * holds {@link MAX_QUEUED}, the main thread does the job itself, and once it
 * has no more to hand out it takes back the jobs the thread has not started
 * ({@link takeBack}), so the two share the work as they can. Lookups go to
 * it once it has started.
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
   * The jobs sent, in order (the helper answers in order).
   */
  readonly #waiting: Waiting[] = [];
  #whenIdle: (() => void) | undefined;
  /** Jobs sent so far: the next one's `seq`. */
  #sent = 0;
  /** Names the thread looked up (lstat jobs it answered). */
  lookedUp = 0;

  /**
   * With `thread`, a helper thread when this process can run one with libc;
   * otherwise every job runs on the main thread. `workerUrl` is another
   * module to run in the thread (tests inject a failing one).
   */
  static start(thread: boolean, workerUrl = helperUrl()): CheckoutHelper {
    const helper = new CheckoutHelper();
    if (thread && nativeFreshAvailable()) helper.#spawn(workerUrl);
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
   * Places `job`'s files: in the helper when it has room (while it starts
   * too), else here and now. `done` gets the outcome, on a later turn of
   * the event loop or before this returns (or {@link takeBack}'s).
   * Throws (here or in {@link settle}) once the helper failed.
   */
  submit(job: FreshJob, done: (outcome: FreshOutcome, byHelper: boolean) => void): void {
    this.#throwIfFailed();
    const here = () => done(runFreshJob(job), false);
    // A thread still starting takes jobs too: they wait for it, or are taken back.
    if (this.#worker === undefined || this.#busy() >= MAX_QUEUED) return here();
    const claim = new Int32Array(new SharedArrayBuffer(4));
    const seq = this.#sent++;
    this.#post({ kind: "fresh", seq, job: packFreshJob(job), claim }, { seq, done, claim, here });
  }

  /**
   * Runs here, last first, the placing jobs sent to the thread that it has
   * not started yet; returns how many. For the end of a build: once the
   * main thread has no more jobs to hand out, it would otherwise wait while
   * the thread works through its queue (measured, 10,000 copies in 10
   * jobs: the main thread idle for ~25 of ~90 ms). Each job has a claim
   * both threads try to take with one atomic compare-and-swap, so a job
   * runs on exactly one of them; the thread answers one taken back
   * without an outcome, keeping its answers in order.
   */
  takeBack(): number {
    let taken = 0;
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const job = this.#waiting[i]!;
      if (job.claim === undefined || job.takenBack) continue;
      // The thread takes jobs in order: one it has claimed means it has every earlier one too.
      if (!claimHere(job)) break;
      job.takenBack = true;
      taken++;
      job.here();
    }
    if (this.#idle()) this.#wake();
    return taken;
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
      if (!this.threaded) return here();
      const seq = this.#sent++;
      this.#post({ kind: "lstat", seq, job: packLstatJob(job) }, { seq, done: answered, here });
    });
  }

  /** Sends `message` to the thread, `waiting` saying what to do with its answer. */
  #post<T>(
    message: CheckoutMessage,
    waiting: Omit<Waiting, "done"> & { done: (outcome: T, byHelper: boolean) => void },
  ): void {
    this.#waiting.push(waiting as Waiting);
    this.#worker!.postMessage(message);
  }

  /**
   * Drops the placing jobs the thread has not started, for a build given up:
   * they never run and are never answered, and {@link settle} then waits
   * only for the one the thread may be running.
   */
  abandon(): void {
    for (const job of this.#waiting) {
      if (!job.takenBack && claimHere(job)) job.takenBack = true;
    }
    if (this.#idle()) this.#wake();
  }

  /**
   * Waits until every job the thread took is answered (so it writes nothing
   * more); then throws what failed, if anything did. Jobs taken back are not
   * waited for: a thread that never started would never answer them.
   */
  async settle(): Promise<void> {
    if (!this.#idle()) {
      await new Promise<void>((resolve) => (this.#whenIdle = resolve));
    }
    this.#throwIfFailed();
  }

  #idle(): boolean {
    return this.#busy() === 0;
  }

  /** Jobs sent and not taken back: those the thread has, or will, run. */
  #busy(): number {
    let busy = 0;
    for (const job of this.#waiting) if (job.takenBack !== true) busy++;
    return busy;
  }

  /** Stops the helper thread (after {@link settle}: it then has nothing left to do). */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #spawn(url: string): void {
    let worker: Worker;
    try {
      worker = new Worker(url, { type: "module" });
    } catch {
      return; // no threads here: every job runs on the main thread
    }
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<CheckoutAnswer | "ready">) => {
      const answer = event.data;
      if (answer === "ready") {
        this.#ready = true;
        return;
      }
      if (this.#waiting[0]?.seq !== answer.seq) {
        // Never seen; were a message lost, every later outcome would go to the wrong job.
        this.#lose(worker, "it answered a job it was not asked in that order");
        return;
      }
      const job = this.#waiting.shift()!;
      // An error in `done` belongs to the caller: kept, and thrown by submit
      // and settle, which still waits for the jobs already sent.
      try {
        if (answer.outcome !== undefined && !job.takenBack) job.done(answer.outcome as never, true);
      } catch (error) {
        this.#failure ??= error;
      }
      if (this.#idle()) this.#wake();
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#lose(worker, event.message);
    };
  }

  /**
   * The thread is gone (or cannot be trusted): its unanswered jobs will never
   * be. Lookups, and placing jobs it never started, are done here instead;
   * one it started may have left anything in its folder, so that fails the
   * build. A thread that could not even start started none: the main thread
   * goes on alone.
   */
  #lose(worker: Worker, why: string): void {
    this.#worker = undefined;
    worker.terminate();
    const lost = this.#waiting.splice(0).filter((job) => job.takenBack !== true);
    // Every claim is taken before anything is decided: a thread not yet
    // stopped can then start none of them.
    const started = lost.filter((job) => job.claim !== undefined && !claimHere(job));
    if (started.length > 0) {
      this.#failure ??= new StoreError(
        `The checkout's helper thread failed (${why}); run the command again.`,
      );
    }
    for (const job of lost) {
      if (started.length > 0 && job.claim !== undefined) continue; // the folder is thrown away
      try {
        job.here();
      } catch (error) {
        this.#failure ??= error;
      }
    }
    this.#wake();
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
