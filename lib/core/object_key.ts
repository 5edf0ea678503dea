import { CorruptError } from "../errors/mod.ts";
import type { HashScheme } from "../util/object_hasher.ts";

/** A DVC object id: 32 lower-case hex digits, `.dir` for directory manifests. */
export const OID_PATTERN = /^[0-9a-f]{32}(\.dir)?$/;
const KEY_3X = /^files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30}(?:\.dir)?)$/;
const KEY_LEGACY = /^([0-9a-f]{2})\/([0-9a-f]{30}(?:\.dir)?)$/;

/** Folder of the run cache relative to a cache or remote root (spec §3.7). */
export const RUN_CACHE_DIR = "runs";

/** True when `oid` is a well-formed DVC object id (lower case). */
export function isValidOid(oid: string): boolean {
  return OID_PATTERN.test(oid);
}

/**
 * The key of an object relative to a cache or remote root (spec §4.1):
 * `files/md5/ab/cdef…` for 3.x (`md5`), `ab/cdef…` for legacy 2.x
 * (`md5-dos2unix`). `.dir` oids keep their suffix. The oid is checked,
 * because it comes from files a remote controls and must never be able to
 * name a path outside the root.
 *
 * @example
 * objectKey("849835d274483dc683eb416d6e4f887d.dir", "md5");
 * // "files/md5/84/9835d274483dc683eb416d6e4f887d.dir"
 */
export function objectKey(oid: string, scheme: HashScheme): string {
  if (!OID_PATTERN.test(oid)) {
    throw new CorruptError(`Invalid DVC object id '${oid}': expected 32 lower-case hex digits.`, {
      data: { oid },
    });
  }
  const tail = `${oid.slice(0, 2)}/${oid.slice(2)}`;
  return scheme === "md5" ? `files/md5/${tail}` : tail;
}

/** The oid and scheme an object key names, or undefined for other keys (`runs/…`). */
export function parseObjectKey(key: string): { oid: string; scheme: HashScheme } | undefined {
  const modern = KEY_3X.exec(key);
  if (modern) return { oid: `${modern[1]}${modern[2]}`, scheme: "md5" };
  const legacy = KEY_LEGACY.exec(key);
  if (legacy) return { oid: `${legacy[1]}${legacy[2]}`, scheme: "md5-dos2unix" };
  return undefined;
}

/** The md5 the bytes of an object must hash to: the oid without `.dir`. */
export function oidDigest(oid: string): string {
  return oid.endsWith(".dir") ? oid.slice(0, -4) : oid;
}
