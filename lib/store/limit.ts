import { abortError } from "./abort.ts";
import type { Store } from "./types.ts";
import { once } from "../util/once.ts";

/**
 * Wraps a store so at most `limit` calls run at once across everyone using
 * it (transfer queue, existence planner, listings); the others wait in FIFO
 * order. A listing holds its slot until it is fully consumed or abandoned.
 * A waiter whose signal aborts leaves the line at once.
 */
export function withConcurrencyLimit(store: Store, limit: number): Store {
  const gate = semaphore(Math.max(1, Math.floor(limit)));
  const guarded = async <T>(signal: AbortSignal | undefined, run: () => Promise<T>) => {
    const release = await gate.acquire(signal);
    try {
      return await run();
    } finally {
      release();
    }
  };
  return {
    displayUrl: store.displayUrl,
    canList: store.canList,
    // Synchronous local copies neither wait for a slot nor retry: errors go back to the caller.
    ...(store.small ? { small: store.small } : {}),
    exists: (key, signal) => guarded(signal, () => store.exists(key, signal)),
    delete: (key, signal) => guarded(signal, () => store.delete(key, signal)),
    put: (key, path, options) => guarded(options.signal, () => store.put(key, path, options)),
    get: (key, path, options) => guarded(options.signal, () => store.get(key, path, options)),
    async *list(prefix, signal) {
      const release = await gate.acquire(signal);
      try {
        yield* store.list(prefix, signal);
      } finally {
        release();
      }
    },
    close: () => store.close(),
  };
}

interface Semaphore {
  acquire(signal?: AbortSignal): Promise<() => void>;
}

function semaphore(slots: number): Semaphore {
  let free = slots;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (free > 0) {
        free--;
        return Promise.resolve(once(release));
      }
      return new Promise((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(once(release));
        };
        const onAbort = () => {
          const index = waiting.indexOf(grant);
          if (index >= 0) waiting.splice(index, 1);
          reject(abortError(signal!));
        };
        waiting.push(grant);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}
