import { join, sep } from "node:path";
import { objectKey } from "../core/object_key.ts";
import type { HashScheme } from "../util/object_hasher.ts";

/** The folders of a local cache (spec §4.1, §3.7). */
export interface CachePaths {
  /** `cache.dir`; legacy (2.x) objects live right under it: `<root>/ab/cdef…`. */
  readonly root: string;
  /** 3.x objects: `<root>/files/md5`. */
  readonly files: string;
  /** Run cache: `<root>/runs/<key[0:2]>/<key>/<value>`. */
  readonly runs: string;
}

/**
 * The folders of the cache at `cacheDir` (config `cache.dir`, default
 * `<repo>/.dvc/cache`, already resolved to an absolute path).
 */
export function cachePaths(cacheDir: string): CachePaths {
  return { root: cacheDir, files: join(cacheDir, "files", "md5"), runs: join(cacheDir, "runs") };
}

/**
 * The file of an object in the cache: `files/md5/ab/cdef…` for 3.x,
 * `ab/cdef…` for legacy; throws CorruptError for an oid that is not 32 hex
 * digits (with an optional `.dir`).
 *
 * @example cacheObjectPath("/repo/.dvc/cache", "37b51d194a7513e45b56f6524f2d51f2", "md5")
 *   // → "/repo/.dvc/cache/files/md5/37/b51d194a7513e45b56f6524f2d51f2"
 */
export function cacheObjectPath(cacheDir: string, oid: string, scheme: HashScheme): string {
  const key = objectKey(oid, scheme);
  // Called once per object: plain concatenation where `/` is the separator.
  if (sep === "/") return cacheDir.endsWith("/") ? cacheDir + key : `${cacheDir}/${key}`;
  return join(cacheDir, ...key.split("/"));
}
