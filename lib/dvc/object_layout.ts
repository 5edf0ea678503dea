import { CorruptError } from "../errors/mod.ts";
import type { HashScheme } from "../util/object_hasher.ts";

/** A DVC object id: 32 lower-case hex digits, `.dir` for directory manifests. */
export const OID_PATTERN = /^[0-9a-f]{32}(\.dir)?$/;

/** True when `oid` is a well-formed DVC object id (lower case). */
export function isValidOid(oid: string): boolean {
  return OID_PATTERN.test(oid);
}

/**
 * Where an object lives relative to a cache or remote root (spec §4.1):
 * `files/md5/ab/cdef…` for 3.x (`md5`), `ab/cdef…` for legacy 2.x
 * (`md5-dos2unix`). `.dir` objects keep their suffix.
 *
 * @example
 * objectKey("849835d274483dc683eb416d6e4f887d.dir", "md5");
 * // "files/md5/84/9835d274483dc683eb416d6e4f887d.dir"
 */
export function objectKey(oid: string, scheme: HashScheme): string {
  if (!isValidOid(oid)) {
    throw new CorruptError(`Invalid DVC object id '${oid}': expected 32 lower-case hex digits.`);
  }
  const rest = `${oid.slice(0, 2)}/${oid.slice(2)}`;
  return scheme === "md5" ? `files/md5/${rest}` : rest;
}

/** Inverse of {@link objectKey}: the oid and scheme of a key, or `undefined`. */
export function parseObjectKey(key: string): { oid: string; scheme: HashScheme } | undefined {
  const match = /^(files\/md5\/)?([0-9a-f]{2})\/([0-9a-f]{30}(?:\.dir)?)$/.exec(key);
  if (!match) return undefined;
  return { oid: `${match[2]}${match[3]}`, scheme: match[1] ? "md5" : "md5-dos2unix" };
}

/** Folder of the run cache relative to a cache or remote root (spec §3.7). */
export const RUN_CACHE_DIR = "runs";
