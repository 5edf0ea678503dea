/**
 * md5 and sha256 of big streams on a second thread. An export or import
 * checks every byte it moves (sha256 for the manifest, md5 against the
 * object's name); on one thread the hashing, not the disk, sets the pace.
 * A Web Worker (one per operation, started on first use) hashes while the
 * calling thread reads, parses and writes.
 *
 * The worker's code is a module built from a string, so the compiled binary
 * needs no second entry point. Chunks are copied once and transferred;
 * callers wait when more than {@link MAX_IN_FLIGHT} bytes are queued, so a
 * disk faster than the hash never fills memory. Where workers cannot start,
 * hashing happens inline with the same results.
 */
import { createHash } from "node:crypto";

export type ThreadHashAlgorithm = "md5" | "sha256";

/** One digest being computed; feed it in order, then ask for the hex digest once. */
export interface ThreadHash {
  /** Queues a chunk (copied: the caller may reuse its buffer); waits while the queue is full. */
  update(chunk: Uint8Array): Promise<void>;
  digest(): Promise<string>;
}

const MAX_IN_FLIGHT = 32 * 1024 * 1024;

const WORKER_CODE = `
import { createHash } from "node:crypto";
const hashes = new Map();
self.onmessage = (event) => {
  const { id, algorithm, chunk, end } = event.data;
  try {
    if (algorithm !== undefined) hashes.set(id, createHash(algorithm));
    const hash = hashes.get(id);
    if (chunk !== undefined) {
      hash.update(chunk);
      self.postMessage({ id, ack: chunk.byteLength });
    }
    if (end) {
      hashes.delete(id);
      self.postMessage({ id, hex: hash.digest("hex") });
    }
  } catch (error) {
    hashes.delete(id);
    self.postMessage({ id, error: String(error) });
  }
};
`;

interface Reply {
  readonly id: number;
  readonly ack?: number;
  readonly hex?: string;
  readonly error?: string;
}

interface Waiting {
  resolve(hex: string): void;
  reject(error: Error): void;
}

/**
 * A hashing thread for one operation. `close()` it when done (a live worker
 * keeps the process running).
 */
export class HashThread {
  #worker: Worker | undefined;
  #codeUrl: string | undefined;
  #failed = false;
  #nextId = 1;
  #inFlight = 0;
  #roomWaiters: (() => void)[] = [];
  readonly #digests = new Map<number, Waiting>();
  #brokenBy: Error | undefined;

  /** Starts a digest; on the worker when one runs, else inline. */
  start(algorithm: ThreadHashAlgorithm): ThreadHash {
    const worker = this.#ensureWorker();
    if (worker === undefined) return inlineHash(algorithm);
    const id = this.#nextId++;
    let started = false;
    let result: Promise<string> | undefined;
    return {
      update: async (chunk) => {
        this.#throwIfBroken();
        const copy = chunk.slice();
        const message: Record<string, unknown> = { id, chunk: copy };
        if (!started) message["algorithm"] = algorithm;
        started = true;
        this.#inFlight += copy.byteLength;
        worker.postMessage(message, [copy.buffer]);
        while (this.#inFlight > MAX_IN_FLIGHT) {
          await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
          this.#throwIfBroken();
        }
      },
      digest: () => {
        if (result !== undefined) return result;
        if (this.#brokenBy !== undefined) return Promise.reject(this.#brokenBy);
        result = new Promise<string>((resolve, reject) => {
          this.#digests.set(id, { resolve, reject });
        });
        worker.postMessage(started ? { id, end: true } : { id, algorithm, end: true });
        return result;
      },
    };
  }

  /** Stops the worker; digests still pending fail. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    if (this.#codeUrl !== undefined) URL.revokeObjectURL(this.#codeUrl);
    this.#codeUrl = undefined;
    this.#break(new Error("the hashing thread was closed"));
  }

  #ensureWorker(): Worker | undefined {
    if (this.#worker !== undefined || this.#failed) return this.#worker;
    try {
      // Revoked on close, not now: the worker fetches its code after it starts.
      this.#codeUrl = URL.createObjectURL(new Blob([WORKER_CODE], { type: "text/javascript" }));
      const worker = new Worker(this.#codeUrl, { type: "module" });
      worker.onmessage = (event: MessageEvent<Reply>) => this.#onReply(event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        this.#break(new Error(`the hashing thread failed: ${event.message}`));
      };
      this.#worker = worker;
    } catch {
      this.#failed = true;
    }
    return this.#worker;
  }

  #onReply(reply: Reply): void {
    if (reply.ack !== undefined) {
      this.#inFlight -= reply.ack;
      if (this.#inFlight <= MAX_IN_FLIGHT) this.#wakeAll();
      return;
    }
    const waiting = this.#digests.get(reply.id);
    if (waiting === undefined) return;
    this.#digests.delete(reply.id);
    if (reply.hex !== undefined) waiting.resolve(reply.hex);
    else waiting.reject(new Error(`hashing failed: ${reply.error}`));
  }

  #break(error: Error): void {
    this.#brokenBy ??= error;
    for (const waiting of this.#digests.values()) waiting.reject(error);
    this.#digests.clear();
    this.#wakeAll();
  }

  #wakeAll(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  #throwIfBroken(): void {
    if (this.#brokenBy !== undefined) throw this.#brokenBy;
  }
}

/** The same digest on the calling thread (small inputs: a message costs more than the hash). */
export function inlineHash(algorithm: ThreadHashAlgorithm): ThreadHash {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
      return Promise.resolve();
    },
    digest: () => Promise.resolve(hash.digest("hex")),
  };
}
