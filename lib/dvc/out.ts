import type { HashScheme } from "../util/object_hasher.ts";
import { isPlainObject } from "./interpolate.ts";
import { isValidOid } from "../core/object_key.ts";
import type { YamlPath } from "./yaml_source.ts";

export { StageFileError, type StageFileLocation } from "./stage_file_error.ts";

/** One cached-or-not output of a stage, with the hash recorded for it. */
export interface DvcOut {
  /** Path relative to the DVC root, POSIX separators, normalised. */
  path: string;
  /** Lower-case oid; directories end in `.dir`. */
  hash: string;
  /** `md5` when the entry says `hash: md5`, else legacy `md5-dos2unix`. */
  scheme: HashScheme;
  isDir: boolean;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  /** False for `cache: false` outputs (kept in Git, never transferred). */
  cache: boolean;
  /** False for `push: false` outputs. */
  push: boolean;
  /** Output-level `remote:`, when set. */
  remote?: string;
  persist?: boolean;
  /** The stage file declaring it (tree path: `dvc.yaml`, `data/raw.csv.dvc`…). */
  stageFile: string;
  /** Pipeline stage name as in `dvc.lock` (`train`, `build@uk`); absent for `.dvc` files. */
  stage?: string;
  /**
   * Where the hash is recorded: the entry's key path in the file holding it
   * (`dvc.lock` for pipeline stages, else `stageFile`) and its line.
   */
  entry?: OutEntry;
}

/** The `dvc.lock` or `.dvc` entry that records an output's hash. */
export interface OutEntry {
  /** `dvc.lock` for a pipeline stage's output, the `.dvc` file otherwise. */
  file: string;
  /** Key path of the entry's mapping: `["stages", "train", "outs", 1]`, `["outs", 0]`. */
  keyPath: YamlPath;
  line?: number | undefined;
}

/** Output flags from `dvc.yaml` or a `.dvc` entry. */
export interface OutFlags {
  cache: boolean;
  push: boolean;
  persist: boolean;
  remote?: string;
}

/** The hash part of a `dvc.lock`/`.dvc` output entry. */
export interface HashFields {
  md5?: string;
  /** The raw `hash:` value (`"md5"` for 3.x, absent for legacy). */
  hashName?: string;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
}

/**
 * Reports a problem with an entry: `detail` says what is wrong, `key` the
 * field it is about (for the line number). Never returns.
 */
export type EntryProblem = (detail: string, key?: string) => never;

/** Reads `cache`/`push`/`persist`/`remote` from a flags mapping (or none). */
export function readFlags(raw: unknown, fail: EntryProblem): OutFlags {
  const flags: OutFlags = { cache: true, push: true, persist: false };
  if (raw === null || raw === undefined) return flags;
  if (!isPlainObject(raw)) fail("output flags must be a mapping");
  for (const key of ["cache", "push", "persist"] as const) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "boolean") fail(`'${key}' must be true or false`, key);
    flags[key] = value;
  }
  if (raw["remote"] !== undefined && raw["remote"] !== null) {
    if (typeof raw["remote"] !== "string") fail("'remote' must be a string", "remote");
    flags.remote = raw["remote"];
  }
  return flags;
}

/** Reads `md5`, `hash`, `size`, `nfiles`, `isexec` from an output entry. */
export function readHashFields(entry: Record<string, unknown>, fail: EntryProblem): HashFields {
  const fields: HashFields = {};
  const md5 = entry["md5"];
  if (md5 !== undefined && md5 !== null) {
    if (typeof md5 !== "string") fail("'md5' must be a string", "md5");
    fields.md5 = md5.toLowerCase();
  }
  const hashName = entry["hash"];
  if (hashName !== undefined && hashName !== null) {
    if (typeof hashName !== "string") fail("'hash' must be a string", "hash");
    fields.hashName = hashName;
  }
  for (const key of ["size", "nfiles"] as const) {
    const value = entry[key];
    if (typeof value === "number" || typeof value === "bigint") fields[key] = Number(value);
  }
  if (entry["isexec"] === true) fields.isexec = true;
  return fields;
}

/**
 * Builds the {@link DvcOut} for a resolved output, or `undefined` when there
 * is nothing to transfer (no md5). An unknown hash name or a malformed md5
 * (which could otherwise name any path) is reported through `problem` with
 * the field it is about, and the output is skipped.
 */
export function makeOut(
  base: { path: string; stageFile: string; stage?: string; entry?: OutEntry },
  flags: OutFlags,
  fields: HashFields,
  problem: (detail: string, key: string) => void,
): DvcOut | undefined {
  if (fields.md5 === undefined) return undefined;
  if (fields.hashName !== undefined && fields.hashName !== "md5") {
    problem(`unsupported hash '${fields.hashName}'`, "hash");
    return undefined;
  }
  if (!isValidOid(fields.md5)) {
    problem(`invalid md5 '${fields.md5}'`, "md5");
    return undefined;
  }
  const out: DvcOut = {
    path: base.path,
    hash: fields.md5,
    scheme: fields.hashName === "md5" ? "md5" : "md5-dos2unix",
    isDir: fields.md5.endsWith(".dir"),
    cache: flags.cache,
    push: flags.push,
    stageFile: base.stageFile,
  };
  if (base.stage !== undefined) out.stage = base.stage;
  if (base.entry !== undefined) out.entry = base.entry;
  if (fields.size !== undefined) out.size = fields.size;
  if (fields.nfiles !== undefined) out.nfiles = fields.nfiles;
  if (fields.isexec) out.isexec = true;
  if (flags.remote !== undefined) out.remote = flags.remote;
  if (flags.persist) out.persist = true;
  return out;
}
