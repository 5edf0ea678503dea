/**
 * Partial clones (`git clone --filter=blob:none`): objects left on the
 * "promisor" remote are fetched by id when a command needs them, as git's
 * lazy fetch does — one request for many objects, the pack marked
 * `.promisor`.
 */
import { GitRemoteError } from "../errors/mod.ts";
import type { GitConfig } from "./git_config.ts";
import { ObjectStore } from "./pack/object_store.ts";
import { storePack } from "./pack/store_pack.ts";
import type { FetchSession } from "./transport/types.ts";

/** Fetches the given objects into the local repository (or throws). */
export type ObjectFetcher = (oids: readonly string[]) => Promise<void>;

/** A failure to fetch missing objects: a command must stop on it, not show partial values. */
export class ObjectFetchError extends GitRemoteError {}

/**
 * The remote a partial clone promised its missing objects from:
 * `extensions.partialClone`, else the first remote with `promisor = true`
 * (git 2.39's `clone --filter` writes the latter). Undefined for a complete
 * clone.
 */
export function promisorRemoteName(config: GitConfig): string | undefined {
  const named = config.get("extensions.partialclone");
  if (named !== undefined && named !== "") return named;
  for (const [key, value] of config.entries()) {
    const m = /^remote\.(.+)\.promisor$/.exec(key);
    if (m !== null && /^(true|yes|on|1)$/i.test(value.trim())) return m[1];
  }
  return undefined;
}

/**
 * Fetches `oids` by id over a session `open` starts (wants, no haves: each
 * is a blob or tree the remote has) and stores the pack as a promisor
 * pack. Every object asked for must arrive; any failure is one
 * ObjectFetchError naming the remote.
 */
export async function fetchObjectsById(
  gitdir: string,
  open: () => Promise<FetchSession>,
  oids: readonly string[],
  displayUrl: string,
): Promise<number> {
  const wanted = [...new Set(oids)];
  if (wanted.length === 0) return 0;
  try {
    const session = await open();
    let stored: { objects: number };
    try {
      const answer = await session.fetch({ wants: wanted, haves: [] });
      stored = await storePack(gitdir, answer.pack, { promisor: true });
    } finally {
      await session.close();
    }
    const store = ObjectStore.open(gitdir);
    try {
      for (const oid of wanted) {
        if (!(await store.has(oid))) {
          throw new ObjectFetchError(`the remote did not send Git object '${oid}'`);
        }
      }
    } finally {
      await store.close();
    }
    return stored.objects;
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/\.$/, "") : String(e);
    throw new ObjectFetchError(
      `Could not fetch ${wanted.length} missing Git object(s) of this partial clone from '${displayUrl}': ${why}.`,
      { cause: e },
    );
  }
}

const FETCHER = Symbol("dxp.objectFetcher");

type WithFetcher = { [FETCHER]?: ObjectFetcher };

/**
 * Puts a lazy object fetcher on a per-command Git cache object: readers
 * sharing that cache (the commit tree reader) fetch missing objects through
 * it. Requests that arrive while a fetch runs are sent together in the
 * next one. Returns the cache.
 */
export function attachObjectFetcher<T extends object>(
  cache: T,
  fetcher: ObjectFetcher | undefined,
): T {
  if (fetcher !== undefined) (cache as WithFetcher)[FETCHER] = batched(fetcher);
  return cache;
}

/** The fetcher attached to `cache`, if any. */
export function objectFetcherOf(cache: object): ObjectFetcher | undefined {
  return (cache as WithFetcher)[FETCHER];
}

interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function batched(fetcher: ObjectFetcher): ObjectFetcher {
  let queued = new Map<string, Waiter>();
  let running: Promise<void> | undefined;
  const drain = async () => {
    while (queued.size > 0) {
      const batch = queued;
      queued = new Map();
      try {
        await fetcher([...batch.keys()]);
        for (const wait of batch.values()) wait.resolve();
      } catch (e) {
        for (const wait of batch.values()) wait.reject(e);
      }
    }
    running = undefined;
  };
  return async (oids) => {
    const waits = oids.map((oid) => {
      let wait = queued.get(oid);
      if (wait === undefined) queued.set(oid, wait = waiter());
      return wait.promise;
    });
    // Let every reader of this turn queue its object before the request goes out.
    running ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(drain);
    await Promise.all(waits);
  };
}
