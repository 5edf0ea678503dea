import { objectKey } from "../core/object_key.ts";
import { writeAtomic } from "../store/local_write.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import type { LocalCache } from "./cache.ts";

/**
 * Adds the file at `path` to the cache as object `oid` (already computed by
 * the caller) unless a good copy is there: streamed through a temporary
 * file next to the object, verified against `oid` on the way (a file that
 * changed since it was hashed is refused with a CorruptError and nothing is
 * kept), made read-only (0444) and renamed into place — what DVC's
 * `dvc commit` leaves behind.
 */
export async function addFileToCache(
  cache: LocalCache,
  path: string,
  oid: string,
  scheme: HashScheme,
  signal?: AbortSignal,
): Promise<void> {
  if (await cache.has(oid, scheme, signal)) return;
  const key = objectKey(oid, scheme);
  await cache.beforeDownload({ key, localPath: cache.objectPath(oid, scheme) });
  await cache.store.put(key, path, {
    expect: { hash: oid, scheme },
    ...(signal ? { signal } : {}),
  });
}

/** Adds in-memory bytes (a `.dir` manifest) to the cache as object `oid`, like {@link addFileToCache}. */
export async function addBytesToCache(
  cache: LocalCache,
  bytes: Uint8Array,
  oid: string,
  scheme: HashScheme,
  signal?: AbortSignal,
): Promise<void> {
  if (await cache.has(oid, scheme, signal)) return;
  const target = cache.objectPath(oid, scheme);
  const key = objectKey(oid, scheme);
  await cache.beforeDownload({ key, localPath: target });
  await writeAtomic(target, once(bytes), {
    expect: { hash: oid, scheme },
    signal,
    fileMode: 0o444,
    context: { action: `add '${key}' to the cache`, where: target },
    sourceLabel: `The manifest for '${oid}'`,
  });
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
