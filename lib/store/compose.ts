import { withConcurrencyLimit } from "./limit.ts";
import { type RetryPolicy, withRetry } from "./retry.ts";
import type { Store } from "./types.ts";

/** The cross-cutting wrappers a backend gets, in one place. */
export interface StoreWrappers {
  /** Retry transient failures (default policy when omitted; `false` disables). */
  readonly retry?: RetryPolicy | false;
  /** At most this many calls in flight at once (unbounded when omitted). */
  readonly maxConcurrent?: number;
}

/**
 * Composes the wrappers around a backend: the limit is inside the retry, so
 * a call that backs off gives its slot to others while it sleeps.
 *
 * @example const remote = composeStore(createLocalStore(url, {}, ctx), { maxConcurrent: 16 });
 */
export function composeStore(store: Store, wrappers: StoreWrappers = {}): Store {
  let composed = store;
  if (wrappers.maxConcurrent !== undefined) {
    composed = withConcurrencyLimit(composed, wrappers.maxConcurrent);
  }
  if (wrappers.retry !== false) composed = withRetry(composed, wrappers.retry ?? {});
  return composed;
}
