import { isTransient } from "./errors.ts";
import { abortableSleep, throwIfAborted } from "./abort.ts";
import type { Store, TransferOptions } from "./types.ts";
import { StoreError } from "../errors/mod.ts";

/** How {@link withRetry} retries transient failures. */
export interface RetryPolicy {
  /** Total tries per call, the first included (default 5). */
  readonly attempts?: number;
  /** First backoff step (default 250 ms); doubled per retry. */
  readonly baseDelayMs?: number;
  /** Cap of one backoff (default 20 s). */
  readonly maxDelayMs?: number;
  /** Cap of a server's Retry-After (default 120 s); longer asks are shortened. */
  readonly maxRetryAfterMs?: number;
  /** Injected for tests; the default sleeps on a timer and wakes on abort. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests; returns [0, 1). */
  readonly random?: () => number;
  /** Told before each retry (for `-v` debug lines). */
  readonly onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  readonly operation: "exists" | "list" | "put" | "get" | "delete";
  readonly key: string;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: StoreError;
}

/**
 * Wraps a store so every call retries transient StoreErrors with capped
 * exponential backoff and equal jitter, waiting at least a server's
 * Retry-After. Permanent errors, corruption and auth failures are thrown at
 * once. A retried transfer reports the bytes of the failed attempt back as a
 * negative `onBytes`, so progress does not count them twice. A listing that
 * fails part-way is listed again, skipping keys already yielded.
 *
 * @example const store = withRetry(createLocalStore(url, {}, ctx), { attempts: 5 });
 */
export function withRetry(store: Store, policy: RetryPolicy = {}): Store {
  const attempts = Math.max(1, policy.attempts ?? 5);
  const base = policy.baseDelayMs ?? 250;
  const cap = policy.maxDelayMs ?? 20_000;
  const retryAfterCap = policy.maxRetryAfterMs ?? 120_000;
  const sleep = policy.sleep ?? abortableSleep;
  const random = policy.random ?? Math.random;

  /** Sleeps before retry number `attempt`, or rethrows when retrying is pointless. */
  const backoff = async (
    operation: RetryInfo["operation"],
    key: string,
    attempt: number,
    error: unknown,
    signal: AbortSignal | undefined,
  ) => {
    if (!isTransient(error) || attempt >= attempts || signal?.aborted) throw error;
    const step = Math.min(cap, base * 2 ** (attempt - 1));
    let delayMs = Math.round(step / 2 + random() * step / 2);
    const asked = (error as StoreError).retryAfterMs;
    if (asked !== undefined) delayMs = Math.max(delayMs, Math.min(asked, retryAfterCap));
    policy.onRetry?.({ operation, key, attempt, delayMs, error: error as StoreError });
    await sleep(delayMs, signal);
    throwIfAborted(signal);
  };

  const call = async <T>(
    operation: RetryInfo["operation"],
    key: string,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await run();
      } catch (error) {
        await backoff(operation, key, attempt, error, signal);
      }
    }
  };

  const transfer = (operation: "put" | "get", key: string, path: string, o: TransferOptions) => {
    let moved = 0;
    const onBytes = o.onBytes;
    const options: TransferOptions = onBytes
      ? {
        ...o,
        onBytes: (n) => {
          moved += n;
          onBytes(n);
        },
      }
      : o;
    return call(operation, key, o.signal, async () => {
      if (moved !== 0) onBytes?.(-moved); // the previous attempt's bytes start over
      moved = 0;
      await (operation === "put" ? store.put(key, path, options) : store.get(key, path, options));
    });
  };

  return {
    displayUrl: store.displayUrl,
    canList: store.canList,
    // Synchronous local copies neither wait for a slot nor retry: errors go back to the caller.
    ...(store.small ? { small: store.small } : {}),
    exists: (key, signal) => call("exists", key, signal, () => store.exists(key, signal)),
    delete: (key, signal) => call("delete", key, signal, () => store.delete(key, signal)),
    put: (key, path, options) => transfer("put", key, path, options),
    get: (key, path, options) => transfer("get", key, path, options),
    list: (prefix, signal) => retryList(store, prefix, signal, backoff),
    close: () => store.close(),
  };
}

async function* retryList(
  store: Store,
  prefix: string,
  signal: AbortSignal | undefined,
  backoff: (
    op: "list",
    key: string,
    attempt: number,
    error: unknown,
    signal: AbortSignal | undefined,
  ) => Promise<void>,
): AsyncGenerator<string> {
  const seen = new Set<string>();
  for (let attempt = 1;; attempt++) {
    try {
      for await (const key of store.list(prefix, signal)) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield key;
      }
      return;
    } catch (error) {
      await backoff("list", prefix, attempt, error, signal);
    }
  }
}
