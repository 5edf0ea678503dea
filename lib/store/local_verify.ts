import { lstatSync } from "node:fs";
import { chmod, unlink } from "node:fs/promises";
import { createObjectHasher, type HashScheme } from "../util/object_hasher.ts";
import { errnoCode, storeErrorFromErrno } from "./errors.ts";
import { readChunks } from "./local_stream.ts";
import { oidDigest } from "../core/object_key.ts";

/** The outcome of {@link checkLocalObject}. */
export type LocalObjectState =
  /** No file there (or something that is not a file). */
  | "missing"
  /** Mode exactly 0444: trusted without reading it, as DVC does. */
  | "trusted"
  /** Another mode, re-hashed and found correct (and now protected when allowed). */
  | "verified"
  /** Another mode, re-hashed, found corrupt and deleted. */
  | "removed";

/** True when a mode is exactly DVC's protected `0444`. */
export function isProtectedMode(mode: number): boolean {
  return (mode & 0o7777) === 0o444;
}

/**
 * DVC's existence rule for local caches and local remotes (spec §4.4.3, §4.5):
 * an object file with mode exactly 0444 is trusted; any other mode makes it
 * re-hashed, deleted when the digest does not match its oid, and protected
 * when it does.
 */
export async function checkLocalObject(
  path: string,
  oid: string,
  scheme: HashScheme,
  signal?: AbortSignal,
): Promise<LocalObjectState> {
  const context = { action: `check object '${oid}'`, where: path };
  let mode: number;
  try {
    // Synchronous: the common answer (0444, trusted) then costs one system call, not a round trip.
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats === undefined || !stats.isFile()) return "missing";
    mode = stats.mode;
  } catch (error) {
    if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return "missing";
    throw storeErrorFromErrno(error, context);
  }
  if (isProtectedMode(mode)) return "trusted";
  const hasher = createObjectHasher(scheme);
  try {
    for await (const chunk of readChunks(path, context, signal)) hasher.update(chunk);
  } catch (error) {
    // Removed by someone else while we read it: simply missing.
    if (errnoCode((error as { cause?: unknown }).cause) === "ENOENT") return "missing";
    throw error;
  }
  if (hasher.digest() === oidDigest(oid)) {
    // Not being able to protect is not fatal (shared caches, funky file systems): DVC ignores it too.
    await chmod(path, 0o444).catch(() => undefined);
    return "verified";
  }
  try {
    await unlink(path);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw storeErrorFromErrno(error, context);
  }
  return "removed";
}
