import { isPlainObject } from "./interpolate.ts";
import {
  type EntryProblem,
  type HashFields,
  type OutFlags,
  readFlags,
  readHashFields,
  StageFileError,
} from "./out.ts";
import { parseYamlSource, type YamlPath } from "./yaml_source.ts";

/** One output entry of a `.dvc` file. */
export interface DvcFileOut extends HashFields {
  /** As written: relative to the file's `wdir`. */
  path: string;
  flags: OutFlags;
  /** Key path of the entry (`["outs", 0]`). */
  keyPath: YamlPath;
  /** 1-based line of the entry. */
  line?: number;
  /** 1-based line of one of the entry's fields (`md5`, `hash`), for messages. */
  lineOfField(key: string): number | undefined;
}

/** A single-stage `.dvc` file (spec §3.5), as far as transfers care. */
export interface DvcFileStage {
  /** `wdir` as written (default `.`), relative to the `.dvc` file's folder. */
  wdir: string;
  /** True for `dvc import` from another repository (outputs are not ours to push). */
  isRepoImport: boolean;
  outs: DvcFileOut[];
  /** 1-based line of a top-level key (for messages about it). */
  lineOf(key: string): number | undefined;
}

/**
 * Parses a `.dvc` file; throws {@link StageFileError} (with the file and
 * line) when DVC would refuse it.
 */
export function parseDvcFile(text: string, file: string): DvcFileStage {
  const source = parseYamlSource(text, file);
  const data = source.data;
  const fail: (detail: string, path: YamlPath) => never = (detail, path) => {
    throw new StageFileError(detail, { file, line: source.lineOf(path) });
  };
  if (!isPlainObject(data)) return fail("the file is not a YAML mapping", []);
  const wdir = data["wdir"] ?? ".";
  if (typeof wdir !== "string") fail("'wdir' must be a string", ["wdir"]);
  const deps = data["deps"] ?? [];
  if (!Array.isArray(deps)) fail("'deps' must be a list", ["deps"]);
  const isRepoImport = deps.some((d: unknown) => isPlainObject(d) && d["repo"] !== undefined);
  const outs = data["outs"] ?? [];
  if (!Array.isArray(outs)) fail("'outs' must be a list", ["outs"]);
  return {
    wdir,
    isRepoImport,
    lineOf: (key) => source.lineOf([key]),
    outs: outs.map((item: unknown, index) => {
      const keyPath = ["outs", index];
      if (!isPlainObject(item) || typeof item["path"] !== "string") {
        fail(`output ${index + 1} lacks a string 'path'`, keyPath);
      }
      const problem: EntryProblem = (detail, key) =>
        fail(
          `output '${item["path"]}': ${detail}`,
          key === undefined ? keyPath : [...keyPath, key],
        );
      const line = source.lineOf(keyPath);
      return {
        path: item["path"],
        flags: readFlags(item, problem),
        keyPath,
        ...(line !== undefined ? { line } : {}),
        lineOfField: (key: string) => source.lineOf([...keyPath, key]),
        ...readHashFields(item, problem),
      };
    }),
  };
}
