import { compareCodePoints } from "./dir_manifest.ts";
import { dictSha256, type PyDict, type PyValue } from "./py_value.ts";
import type { HashScheme } from "../util/object_hasher.ts";

/** The hash of one dependency or output as a `dvc.lock` entry records it. */
export interface HashedItem {
  /** The path as written in `dvc.yaml` (relative to the stage's `wdir`). */
  readonly defPath: string;
  /** `md5` writes `hash: md5`; `md5-dos2unix` is a DVC 2.x entry kept as it was. */
  readonly scheme: HashScheme;
  /** 32 hex, `.dir` for a directory. */
  readonly md5: string;
  readonly size: number;
  /** Directories only. */
  readonly nfiles?: number | undefined;
  readonly isexec?: boolean | undefined;
}

/** One params file of a stage with the values of its keys. */
export interface ParamsValues {
  /** The file as written in `dvc.yaml` (`params.yaml` by default). */
  readonly defPath: string;
  readonly values: PyDict;
}

/** Everything a stage's `dvc.lock` entry holds. */
export interface StageLockData {
  readonly cmd: PyValue;
  readonly deps: readonly HashedItem[];
  readonly params: readonly ParamsValues[];
  readonly outs: readonly HashedItem[];
}

const DEFAULT_PARAMS = "params.yaml";

/**
 * The stage's `dvc.lock` entry as DVC 3 serialises it
 * (`to_single_stage_lockfile`): `cmd`, `deps`, `params`, `outs` (empty ones
 * left out); deps and outs sorted by path; params files with `params.yaml`
 * first, then by name, each with its keys sorted.
 */
export function lockEntry(stage: StageLockData): PyDict {
  const entry: PyDict = new Map([["cmd", stage.cmd]]);
  const deps = sortByPath(stage.deps).map(itemDict);
  if (deps.length > 0) entry.set("deps", deps);
  const files = [...stage.params].sort((a, b) => compareCodePoints(a.defPath, b.defPath));
  const first = files.findIndex((p) => p.defPath === DEFAULT_PARAMS);
  if (first > 0) files.unshift(...files.splice(first, 1));
  if (files.length > 0) {
    const params: PyDict = new Map();
    for (const file of files) {
      const keys = [...file.values.keys()].sort(compareCodePoints);
      params.set(file.defPath, new Map(keys.map((k) => [k, file.values.get(k)!])));
    }
    entry.set("params", params);
  }
  const outs = sortByPath(stage.outs).map(itemDict);
  if (outs.length > 0) entry.set("outs", outs);
  return entry;
}

/** One `deps`/`outs` item: `path`, `hash` (3.x only), `md5`, `size`, `nfiles`, `isexec`. */
export function itemDict(item: HashedItem): PyDict {
  const out: PyDict = new Map([["path", item.defPath]]);
  if (item.scheme === "md5") out.set("hash", "md5");
  out.set("md5", item.md5);
  out.set("size", BigInt(item.size));
  if (item.nfiles !== undefined) out.set("nfiles", BigInt(item.nfiles));
  if (item.isexec) out.set("isexec", true);
  return out;
}

function sortByPath(items: readonly HashedItem[]): HashedItem[] {
  return [...items].sort((a, b) => compareCodePoints(a.defPath, b.defPath));
}

const META_KEYS = ["size", "nfiles"];

/**
 * Where a stage's run-cache entry lives (spec §3.7): `key` hashes the entry
 * with `outs` reduced to their paths, `value` the whole entry, both without
 * `size`/`nfiles` — `runs/<key[0:2]>/<key>/<value>`.
 */
export function runCacheKeyValue(entry: PyDict): { key: string; value: string } {
  const keyed: PyDict = new Map(entry);
  const outs = entry.get("outs");
  keyed.set(
    "outs",
    Array.isArray(outs) ? outs.map((o) => (o instanceof Map ? o.get("path") ?? null : o)) : [],
  );
  return { key: dictSha256(keyed, META_KEYS), value: dictSha256(entry, META_KEYS) };
}
