import { checkLocalObject } from "../store/local_verify.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { cacheObjectPath } from "./layout.ts";

/**
 * True when the cache holds a good copy of the object: mode 0444 is trusted
 * as is; any other mode is re-hashed, and a corrupt file is deleted (and
 * reported missing), as DVC does (spec §4.5).
 */
export async function cacheHas(
  cacheDir: string,
  oid: string,
  scheme: HashScheme,
  signal?: AbortSignal,
): Promise<boolean> {
  const state = await checkLocalObject(cacheObjectPath(cacheDir, oid, scheme), oid, scheme, signal);
  return state === "trusted" || state === "verified";
}
