import { StoreError } from "../errors/mod.ts";
import { abortError, throwIfAborted } from "./abort.ts";
import type { CopyJob, CopyReply } from "./copy_protocol.ts";
import { CopySideError } from "./fd_copy.ts";
import { once } from "../util/once.ts";

/** Objects at least this large are worth a trip to the copying thread (~20-30 ms of md5 here). */
export const OFF_THREAD_MIN_BYTES = 16 * 1024 * 1024;

/** The md5 and length of what a {@link CopyLease} copied. */
export interface CopiedBytes {
  readonly digest: string;
  readonly bytes: number;
}

/** The copying thread, taken for one copy: {@link CopyLease.copy} once, or {@link CopyLease.release}. */
export interface CopyLease {
  /**
   * Copies the file `source` into the existing file `target` (a temp file
   * the caller made and still holds open) on the copying thread. Rejects
   * with {@link CopySideError} on a failed read or write, with
   * {@link CopyThreadUnavailable} when the thread never started, and with
   * the abort's error once `signal` stopped it (mid-copy included: the
   * thread stops at its next chunk and has closed both files when this
   * rejects).
   */
  copy(
    source: string,
    target: string,
    signal?: AbortSignal,
    onBytes?: (bytes: number) => void,
  ): Promise<CopiedBytes>;
  /** Gives the thread back without copying (idempotent; `copy` does it itself). */
  release(): void;
}

/**
 * The thread could not start (a binary built without its entry point, a
 * runtime without workers) before it touched the copy's files: the
 * caller copies on its own thread instead.
 */
export class CopyThreadUnavailable extends Error {}

interface Job {
  readonly files: { readonly source: string; readonly target: string };
  /** Its first element set non-zero stops the copy at its next chunk (shared with the thread). */
  readonly stop: Int32Array<SharedArrayBuffer>;
  readonly signal: AbortSignal | undefined;
  readonly onBytes: ((bytes: number) => void) | undefined;
  readonly resolve: (copied: CopiedBytes) => void;
  readonly reject: (error: unknown) => void;
  /** Resolves when the copy ended, however it ended. */
  readonly settled: Promise<unknown>;
}

/**
 * A second thread for the md5 of large objects moved between two local
 * folders (a local remote and the cache): hashing 100 MiB is ~120-200 ms of
 * one core, which on the main thread holds up every other object and the
 * Git work queued behind it. Copies are shared between the two threads by
 * bytes: a copy goes to this thread when it has no more bytes ahead of it
 * than the main thread has in flight (see {@link claim} and
 * {@link onMainThread}), so several large objects keep both cores busy.
 * The thread copies one at a time and only reads and writes the two
 * files it is given: making the temp file, checking the digest, renaming
 * and removing stay with the caller. It is started at the first large object
 * and stopped by {@link close}.
 */
export class CopyHelper {
  #worker: Worker | undefined;
  #broken = false;
  /** The thread said it runs: from then on its failure fails the copy it holds. */
  #ready = false;
  /** Bytes of the copies queued for or running on the thread, and on the main thread. */
  #threadBytes = 0;
  #mainBytes = 0;
  readonly #queue: Job[] = [];
  #running: Job | undefined;

  /**
   * The thread for one copy of `size` bytes, when it can run and has no more
   * bytes ahead of it than the main thread; undefined: copy on this thread
   * (counted with {@link onMainThread}).
   */
  claim(size: number): CopyLease | undefined {
    if (this.#broken || this.#threadBytes > this.#mainBytes) return undefined;
    if (this.#worker === undefined && !this.#spawn()) return undefined;
    this.#threadBytes += size;
    let held = true;
    const release = once(() => {
      held = false;
      this.#threadBytes -= size;
    });
    return {
      copy: async (source, target, signal, onBytes) => {
        try {
          if (!held) throw new Error("A copy lease was used after it was given back.");
          return await this.#enqueue({ source, target }, signal, onBytes);
        } finally {
          release();
        }
      },
      release,
    };
  }

  /** Counts a copy of `size` bytes made on the main thread, until the returned function is called. */
  onMainThread(size: number): () => void {
    this.#mainBytes += size;
    return once(() => (this.#mainBytes -= size));
  }

  /**
   * Stops the thread. Callers close their stores after their copies; a copy
   * still running is asked to stop and waited for first, so the thread never
   * writes a file after its owner removed it.
   */
  async close(): Promise<void> {
    this.#dropQueued(
      () =>
        new StoreError("The copying thread was stopped before this copy; run the command again."),
    );
    const running = this.#running;
    if (running !== undefined) {
      Atomics.store(running.stop, 0, 1);
      await running.settled;
    }
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #enqueue(
    files: { source: string; target: string },
    signal: AbortSignal | undefined,
    onBytes: ((bytes: number) => void) | undefined,
  ): Promise<CopiedBytes> {
    throwIfAborted(signal);
    if (this.#worker === undefined) {
      return Promise.reject(new CopyThreadUnavailable("the copying thread is not running"));
    }
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(stop, 0, 1);
    signal?.addEventListener("abort", onAbort, { once: true });
    let settle = () => {};
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const copied = new Promise<CopiedBytes>((resolve, reject) => {
      this.#queue.push({ files, stop, signal, onBytes, resolve, reject, settled });
    });
    this.#pump();
    return copied.finally(() => {
      settle();
      signal?.removeEventListener("abort", onAbort);
    });
  }

  /** Sends the next queued copy when the thread is free (one at a time: it has one pair of buffers). */
  #pump(): void {
    const worker = this.#worker;
    if (worker === undefined || this.#running !== undefined) return;
    let job = this.#queue.shift();
    // One interrupted while it waited never reaches the thread.
    while (job !== undefined && Atomics.load(job.stop, 0) !== 0) {
      job.reject(
        job.signal?.aborted ? abortError(job.signal) : new StoreError("The copy was stopped."),
      );
      job = this.#queue.shift();
    }
    if (job === undefined) {
      setRef(worker, false);
      return;
    }
    this.#running = job;
    setRef(worker, true);
    worker.postMessage({ ...job.files, stop: job.stop.buffer } satisfies CopyJob);
  }

  #spawn(): boolean {
    let worker: Worker;
    try {
      worker = new Worker(copyWorkerUrl(), { type: "module" });
    } catch {
      this.#broken = true; // no threads here: every copy stays on the main thread
      return false;
    }
    setRef(worker, false);
    worker.onmessage = (event: MessageEvent<CopyReply | "ready">) => this.#reply(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#broken = true;
      this.#worker = undefined;
      worker.terminate();
      // Queued copies never reached it: their callers copy them themselves.
      this.#dropQueued(() => new CopyThreadUnavailable(event.message));
      const running = this.#running;
      this.#running = undefined;
      running?.reject(
        this.#ready
          ? new StoreError(`The copying thread failed (${event.message}); run the command again.`)
          : new CopyThreadUnavailable(event.message),
      );
    };
    this.#worker = worker;
    return true;
  }

  #reply(reply: CopyReply | "ready"): void {
    if (reply === "ready") {
      this.#ready = true;
      return;
    }
    const running = this.#running;
    if (running === undefined) return;
    if (reply.kind === "bytes") {
      running.onBytes?.(reply.bytes);
      return;
    }
    this.#running = undefined;
    if (reply.kind === "done") running.resolve({ digest: reply.digest, bytes: reply.bytes });
    else if (reply.kind === "failed") {
      running.reject(new CopySideError(reply.side, reply.code, reply.message));
    } else {
      running.reject(
        running.signal?.aborted
          ? abortError(running.signal)
          : new StoreError("The copy was stopped."),
      );
    }
    this.#pump();
  }

  #dropQueued(error: () => Error): void {
    for (const job of this.#queue.splice(0)) job.reject(error());
  }
}

/** Bun's workers keep the process alive unless unref-ed: only while a copy runs. */
function setRef(worker: Worker, ref: boolean): void {
  const handle = worker as unknown as { ref?: () => void; unref?: () => void };
  if (ref) handle.ref?.();
  else handle.unref?.();
}

/**
 * Where the thread's code is: in the compiled binary every entry point is
 * under `/$bunfs/root/`, named by its path in the project; from source,
 * next to this file.
 */
function copyWorkerUrl(): string {
  if (import.meta.url.includes("/$bunfs/")) return "./lib/store/copy_worker.ts";
  return new URL("./copy_worker.ts", import.meta.url).href;
}
