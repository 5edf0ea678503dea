/**
 * A Store wrapper for tests: records every call, measures how many run at
 * once, can slow calls down and can make chosen calls throw. It delegates
 * the real work to a real store (the local one), so bytes really move.
 */
import type { Store, TransferOptions } from "../lib/store/types.ts";

export type Operation = "exists" | "list" | "put" | "get" | "delete";

export interface Call {
  readonly operation: Operation;
  readonly key: string;
}

export interface FaultStore extends Store {
  readonly calls: Call[];
  /** Highest number of calls seen running at the same time. */
  readonly maxConcurrent: number;
  /** Makes a call throw: return an error to throw it (before the real call), undefined to go on. */
  fault: (call: Call, attempt: number) => Error | undefined;
  /** Milliseconds each put/get waits before delegating. */
  delayMs: number;
  /** Overrides canList of the wrapped store. */
  canList: boolean;
}

export function faultStore(inner: Store): FaultStore {
  let running = 0;
  const attempts = new Map<string, number>();
  const self: FaultStore = {
    displayUrl: inner.displayUrl,
    canList: inner.canList,
    calls: [],
    maxConcurrent: 0,
    fault: () => undefined,
    delayMs: 0,
    async exists(key, signal) {
      return await track({ operation: "exists", key }, () => inner.exists(key, signal));
    },
    async *list(prefix, signal) {
      const call = { operation: "list" as const, key: prefix };
      self.calls.push(call);
      const error = self.fault(call, bump(call));
      if (error) throw error;
      yield* inner.list(prefix, signal);
    },
    put: (key, path, options) =>
      track({ operation: "put", key }, () => inner.put(key, path, options), options),
    get: (key, path, options) =>
      track({ operation: "get", key }, () => inner.get(key, path, options), options),
    delete: (key, signal) => track({ operation: "delete", key }, () => inner.delete(key, signal)),
    close: () => inner.close(),
  };
  const bump = (call: Call) => {
    const id = `${call.operation} ${call.key}`;
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    return attempt;
  };
  async function track<T>(call: Call, run: () => Promise<T>, options?: TransferOptions) {
    self.calls.push(call);
    running++;
    (self as { maxConcurrent: number }).maxConcurrent = Math.max(self.maxConcurrent, running);
    try {
      if (options && self.delayMs > 0) await delay(self.delayMs, options.signal);
      const error = self.fault(call, bump(call));
      if (error) throw error;
      return await run();
    } finally {
      running--;
    }
  }
  return self;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
