/**
 * The DVC objects an export carries: for every commit of each experiment
 * (down to its baseline), the outputs DVC would push (cached, `push: true`)
 * whatever DVC remote they are configured for — the data comes from the
 * local cache — with each directory's `.dir` manifest and its members, in
 * the 3.x and the legacy layout.
 */
import { lstatSync, type Stats } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import type { LocalCache } from "../../cache/mod.ts";
import {
  collectOuts,
  type DirManifestEntry,
  type DvcObject,
  objectsOfOuts,
} from "../../dvc/mod.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import type { GitCache } from "../../git/revision.ts";
import type { Project } from "../../project/project.ts";
import { isProtectedMode } from "../../store/local_verify.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { experimentUnits } from "../data/plan.ts";
import type { SelectedExp } from "./select.ts";

/** One object to put into the archive. */
export interface ExportObject {
  readonly key: string;
  readonly oid: string;
  readonly scheme: HashScheme;
  readonly isDir: boolean;
  /** Its file in the local cache. */
  readonly path: string;
  readonly size: number;
}

const LOCAL_CHECKS = 32;

/** Every object the experiments need, by key, and which experiment needs which. */
export async function experimentObjects(
  project: Project,
  exps: readonly SelectedExp[],
  cache: LocalCache,
  gitCache: GitCache,
): Promise<{ objects: Map<string, DvcObject>; byExp: Map<string, Set<string>> }> {
  const objects = new Map<string, DvcObject>();
  const byExp = new Map<string, Set<string>>();
  const manifests = new Map<string, DirManifestEntry[]>();
  const missingDirs: { object: DvcObject; exp: string }[] = [];
  const readManifest = async (oid: string, scheme: HashScheme) => {
    if (!(await cache.has(oid, scheme))) return undefined;
    return await readFile(cache.objectPath(oid, scheme)).catch(() => undefined);
  };
  for (const exp of exps) {
    const keys = new Set<string>();
    byExp.set(exp.ref, keys);
    for (const unit of await experimentUnits(project, [exp], gitCache)) {
      // A stage file that cannot be read would silently drop data: stop instead.
      const { outs } = await collectOuts(unit.tree, { strict: true, revision: unit.id });
      const set = await objectsOfOuts(outs, readManifest, { push: true, manifests });
      for (const object of set.objects) {
        objects.set(object.key, object);
        keys.add(object.key);
      }
      for (const object of set.missingManifests) missingDirs.push({ object, exp: exp.name });
    }
  }
  if (missingDirs.length > 0) {
    const first = missingDirs[0]!;
    throw missingError(missingDirs.length, first.object.key, first.exp);
  }
  return { objects, byExp };
}

/**
 * Checks that the local cache holds every object (a file in mode 0444 is
 * trusted, another is re-hashed, as DVC does) and reads their sizes.
 * Files come first (by key), `.dir` manifests last, so a reader that
 * extracts in order never sees a directory before its members.
 */
export async function locateObjects(
  objects: readonly DvcObject[],
  byExp: ReadonlyMap<string, ReadonlySet<string>>,
  names: ReadonlyMap<string, string>,
  cache: LocalCache,
  signal?: AbortSignal,
): Promise<ExportObject[]> {
  const found: ExportObject[] = [];
  const missing: DvcObject[] = [];
  const slow: DvcObject[] = [];
  for (const object of objects) {
    // One synchronous lstat answers for a protected object (the usual case):
    // thousands of async stats through the thread pool cost more.
    const path = cache.objectPath(object.oid, object.scheme);
    const stats = lstatQuiet(path);
    if (stats?.isFile() && isProtectedMode(stats.mode)) {
      found.push({ ...object, path, size: stats.size });
    } else if (stats === undefined) missing.push(object);
    else slow.push(object);
  }
  await forEachLimit(slow, LOCAL_CHECKS, signal, async (object) => {
    const path = cache.objectPath(object.oid, object.scheme);
    if (!(await cache.has(object.oid, object.scheme, signal))) {
      missing.push(object);
      return;
    }
    const stats = await lstat(path).catch(() => undefined);
    if (stats === undefined || !stats.isFile()) {
      missing.push(object);
      return;
    }
    found.push({ ...object, path, size: stats.size });
  });
  if (missing.length > 0) {
    missing.sort((a, b) => compare(a.key, b.key));
    const key = missing[0]!.key;
    const ref = [...byExp].find(([, keys]) => keys.has(key))?.[0];
    throw missingError(missing.length, key, names.get(ref ?? "") ?? ref ?? "?");
  }
  return found.sort((a, b) => Number(a.isDir) - Number(b.isDir) || compare(a.key, b.key));
}

function missingError(count: number, key: string, exp: string): DxpError {
  return new DxpError(
    "MissingObjects",
    `Cannot export: ${count} ${count === 1 ? "object" : "objects"} the experiments need ${
      count === 1 ? "is" : "are"
    } not in the local cache (first: '${key}' of experiment '${exp}'); get ${
      count === 1 ? "it" : "them"
    } with 'dxp exp pull' or 'dxp fetch' first, or export with --no-cache.`,
    ExitCode.failure,
    { data: { count, key } },
  );
}

function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
