import type { HashScheme } from "../util/object_hasher.ts";
import { isPlainObject } from "./interpolate.ts";
import { isValidOid } from "../core/object_key.ts";

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

/** A stage-file problem that makes DVC fail to collect the file. */
export class StageFileError extends Error {}

/** Reads `cache`/`push`/`persist`/`remote` from a flags mapping (or none). */
export function readFlags(raw: unknown, where: string): OutFlags {
  const flags: OutFlags = { cache: true, push: true, persist: false };
  if (raw === null || raw === undefined) return flags;
  if (!isPlainObject(raw)) throw new StageFileError(`${where}: output flags must be a mapping`);
  for (const key of ["cache", "push", "persist"] as const) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "boolean") {
      throw new StageFileError(`${where}: '${key}' must be true or false`);
    }
    flags[key] = value;
  }
  if (raw["remote"] !== undefined && raw["remote"] !== null) {
    if (typeof raw["remote"] !== "string") {
      throw new StageFileError(`${where}: 'remote' must be a string`);
    }
    flags.remote = raw["remote"];
  }
  return flags;
}

/** Reads `md5`, `hash`, `size`, `nfiles`, `isexec` from an output entry. */
export function readHashFields(entry: Record<string, unknown>, where: string): HashFields {
  const fields: HashFields = {};
  const md5 = entry["md5"];
  if (md5 !== undefined && md5 !== null) {
    if (typeof md5 !== "string") throw new StageFileError(`${where}: 'md5' must be a string`);
    fields.md5 = md5.toLowerCase();
  }
  const hashName = entry["hash"];
  if (hashName !== undefined && hashName !== null) {
    if (typeof hashName !== "string") throw new StageFileError(`${where}: 'hash' must be a string`);
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
 * is nothing to transfer (no md5, or an unknown hash name). A malformed md5
 * is reported through `warn` and skipped: it could otherwise name any path.
 */
export function makeOut(
  base: { path: string; stageFile: string; stage?: string },
  flags: OutFlags,
  fields: HashFields,
  warn: (message: string) => void,
): DvcOut | undefined {
  if (fields.md5 === undefined) return undefined;
  if (fields.hashName !== undefined && fields.hashName !== "md5") {
    warn(
      `'${base.stageFile}': output '${base.path}' has unsupported hash '${fields.hashName}', skipping it`,
    );
    return undefined;
  }
  if (!isValidOid(fields.md5)) {
    warn(
      `'${base.stageFile}': output '${base.path}' has an invalid md5 '${fields.md5}', skipping it`,
    );
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
  if (fields.size !== undefined) out.size = fields.size;
  if (fields.nfiles !== undefined) out.nfiles = fields.nfiles;
  if (fields.isexec) out.isexec = true;
  if (flags.remote !== undefined) out.remote = flags.remote;
  if (flags.persist) out.persist = true;
  return out;
}
