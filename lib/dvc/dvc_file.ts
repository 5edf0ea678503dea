import { parse } from "yaml";
import { isPlainObject } from "./interpolate.ts";
import { firstLine } from "./lock_file.ts";
import {
  type HashFields,
  type OutFlags,
  readFlags,
  readHashFields,
  StageFileError,
} from "./out.ts";

/** A single-stage `.dvc` file (spec §3.5), as far as transfers care. */
export interface DvcFileStage {
  /** `wdir` as written (default `.`), relative to the `.dvc` file's folder. */
  wdir: string;
  /** True for `dvc import` from another repository (outputs are not ours to push). */
  isRepoImport: boolean;
  outs: (HashFields & { path: string; flags: OutFlags })[];
}

/** Parses a `.dvc` file; throws {@link StageFileError} when DVC would refuse it. */
export function parseDvcFile(text: string, file: string): DvcFileStage {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new StageFileError(`'${file}' is not valid YAML: ${firstLine(error)}`);
  }
  if (!isPlainObject(data)) throw new StageFileError(`'${file}' is not a YAML mapping`);
  const wdir = data["wdir"] ?? ".";
  if (typeof wdir !== "string") throw new StageFileError(`'${file}': 'wdir' must be a string`);
  const deps = data["deps"] ?? [];
  if (!Array.isArray(deps)) throw new StageFileError(`'${file}': 'deps' must be a list`);
  const isRepoImport = deps.some((d: unknown) => isPlainObject(d) && d["repo"] !== undefined);
  const outs = data["outs"] ?? [];
  if (!Array.isArray(outs)) throw new StageFileError(`'${file}': 'outs' must be a list`);
  return {
    wdir,
    isRepoImport,
    outs: outs.map((item: unknown, index) => {
      const where = `'${file}' outs[${index}]`;
      if (!isPlainObject(item) || typeof item["path"] !== "string") {
        throw new StageFileError(`${where} lacks a string 'path'`);
      }
      return { path: item["path"], flags: readFlags(item, where), ...readHashFields(item, where) };
    }),
  };
}
