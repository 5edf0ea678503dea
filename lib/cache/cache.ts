import { chmodSync } from "node:fs";
import { dirname } from "node:path";
import { storeErrorFromErrno } from "../store/errors.ts";
import { openLocalStore } from "../store/local.ts";
import { dirMaker } from "../store/local_dirs.ts";
import { parseObjectKey } from "../core/object_key.ts";
import type { Store } from "../store/types.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { cacheHas } from "./cache_has.ts";
import { cacheObjectPath, type CachePaths, cachePaths } from "./layout.ts";

/** Config of the local cache (`[cache]` section, resolved by the config layer). */
export interface CacheConfig {
  /** Absolute `cache.dir`; default `<repo>/.dvc/cache`. */
  readonly dir: string;
  /** `cache.shared`; only `group` has a meaning (folders `02775`). */
  readonly shared?: string | undefined;
}

/** What a download into the cache is, for the queue's hooks. */
export interface CacheDownload {
  readonly key: string;
  readonly localPath: string;
}

/** The repository's local object cache. */
export interface LocalCache {
  readonly paths: CachePaths;
  readonly sharedGroup: boolean;
  /**
   * The cache as a Store keyed exactly like a remote (`files/md5/…`,
   * legacy `ab/…`, `runs/…`): put() adds a verified, protected object.
   */
  readonly store: Store;
  /** Path of an object's file (see cacheObjectPath). */
  objectPath(oid: string, scheme: HashScheme): string;
  /** True when a good copy is present (0444 trusted, else re-hashed; corrupt ones removed). */
  has(oid: string, scheme: HashScheme, signal?: AbortSignal): Promise<boolean>;
  /**
   * Before a remote store writes `localPath` inside the cache: creates its
   * folder with the cache's modes (02775 when shared), so the store's own
   * `mkdir -p` finds it there.
   */
  beforeDownload(download: CacheDownload): Promise<void>;
  /** After a verified download into the cache: protects objects (0444); run-cache files stay writable. */
  afterDownload(download: CacheDownload): Promise<void>;
}

/**
 * Opens the cache described by `config`. Folders are created on demand.
 *
 * @example
 * const cache = openCache({ dir: "/repo/.dvc/cache" });
 * if (!(await cache.has(oid, "md5"))) …
 */
export function openCache(config: CacheConfig): LocalCache {
  const paths = cachePaths(config.dir);
  const sharedGroup = config.shared === "group";
  const ensureDir = dirMaker(sharedGroup ? 0o2775 : undefined);
  // Only a shared cache needs folders made by us; remember them (≤ 2 × 256 + a few).
  const made = new Set<string>();
  return {
    paths,
    sharedGroup,
    store: openLocalStore(config.dir, { shared: sharedGroup }),
    objectPath: (oid, scheme) => cacheObjectPath(config.dir, oid, scheme),
    has: (oid, scheme, signal) => cacheHas(config.dir, oid, scheme, signal),
    async beforeDownload({ localPath }) {
      if (!sharedGroup) return;
      const dir = dirname(localPath);
      if (made.has(dir)) return;
      try {
        await ensureDir(dir);
      } catch (error) {
        throw storeErrorFromErrno(error, {
          action: `create the cache folder '${dir}'`,
          where: dir,
        });
      }
      if (made.size < 2048) made.add(dir);
    },
    afterDownload({ key, localPath }) {
      if (!parseObjectKey(key)) return Promise.resolve();
      // Like DVC, failing to protect (someone else's file in a shared cache) is not an error.
      try {
        chmodSync(localPath, 0o444);
      } catch { /* ignored */ }
      return Promise.resolve();
    },
  };
}
