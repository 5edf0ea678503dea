import { parseDocument } from "yaml";
import { parse as parseTomlText, TomlDate } from "smol-toml";
import { isPlainObject } from "./interpolate.ts";
import { type PyDict, type PyValue, toPyValue } from "./py_value.ts";
import { StageFileError } from "./out.ts";
import { yamlValueProblem } from "./yaml_source.ts";

/** One params file a stage depends on: all its keys (`null`) or the listed ones. */
export interface ParamsDecl {
  /** As written (relative to the stage's `wdir`). */
  readonly file: string;
  readonly keys: string[] | null;
}

const DEFAULT_PARAMS = "params.yaml";

/**
 * A stage's `params:` list as DVC merges it (`_merge_params`): a plain
 * string is a key of `params.yaml`; `{file: [keys]}` adds keys of `file`;
 * `{file: null}` (or an empty list) tracks the whole file. Files keep the
 * order of first mention.
 */
export function parseParamsDecl(raw: unknown, stage: string): ParamsDecl[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new StageFileError(`'params' of stage '${stage}' must be a list`);
  }
  const files = new Map<string, string[] | null>();
  const add = (file: string, keys: string[] | null) => {
    const known = files.get(file);
    if (keys === null || known === null) files.set(file, known === undefined ? keys : null);
    else files.set(file, [...(known ?? []), ...keys]);
  };
  for (const item of raw) {
    if (typeof item === "string") {
      add(DEFAULT_PARAMS, [item]);
    } else if (isPlainObject(item)) {
      for (const [file, keys] of Object.entries(item)) {
        if (keys === null || keys === undefined || (Array.isArray(keys) && keys.length === 0)) {
          add(file, null);
        } else if (Array.isArray(keys) && keys.every((k) => typeof k === "string")) {
          add(file, keys as string[]);
        } else {
          throw new StageFileError(
            `params of '${file}' in stage '${stage}' must be a list of keys`,
          );
        }
      }
    } else {
      throw new StageFileError(`'params' of stage '${stage}' must list keys or files`);
    }
  }
  return [...files].map(([file, keys]) => ({
    file,
    keys: keys === null ? null : [...new Set(keys)],
  }));
}

/** A params file that cannot be read as parameters. */
export class ParamsFileError extends Error {}

/**
 * Reads a params file (YAML, JSON or TOML by extension) with Python's
 * types: integers as `bigint`, floats as `number`, key order kept.
 */
export function readParamsText(text: string, path: string): PyDict {
  const lower = path.toLowerCase();
  let data: PyValue;
  if (lower.endsWith(".toml")) {
    let parsed: unknown;
    try {
      parsed = parseTomlText(text, { integersAsBigInt: true });
    } catch (error) {
      throw new ParamsFileError(`Unable to read parameters from '${path}'`, { cause: error });
    }
    data = toPyValue(tomlPlain(parsed));
  } else if (/\.(ya?ml|json)$/.test(lower)) {
    const doc = parseDocument(text, { intAsBigInt: true, uniqueKeys: false, logLevel: "error" });
    if (doc.errors.length > 0) {
      throw new ParamsFileError(`Unable to read parameters from '${path}'`, {
        cause: doc.errors[0],
      });
    }
    try {
      data = toPyValue(doc.toJS({ mapAsMap: true }));
    } catch (error) {
      const problem = yamlValueProblem(error);
      if (problem === undefined) throw error;
      throw new ParamsFileError(`Unable to read parameters from '${path}': ${problem}`, {
        cause: error,
      });
    }
  } else {
    throw new ParamsFileError(
      `Parameters file '${path}' has a format dxp cannot read (use YAML, JSON or TOML)`,
    );
  }
  if (data === null) return new Map();
  if (!(data instanceof Map)) {
    throw new ParamsFileError(`Unable to read parameters from '${path}'`);
  }
  return data;
}

/**
 * The values a stage records for `decl` (DVC's `read_params(flatten=True)`):
 * each dotted key looked up through nested mappings (and list indexes);
 * the whole file when no keys are listed. Missing keys throw DVC's
 * `Parameters '…' are missing from '<file>'.` as a ParamsFileError.
 */
export function paramValues(config: PyDict, keys: string[] | null, shownPath: string): PyDict {
  if (keys === null) return config;
  const out: PyDict = new Map();
  const missing: string[] = [];
  for (const key of keys) {
    const found = lookupDotted(config, key);
    if (found === undefined) missing.push(key);
    else out.set(key, found.value);
  }
  if (missing.length > 0) {
    throw new ParamsFileError(
      `Parameters '${missing.join(", ")}' are missing from '${shownPath}'.`,
    );
  }
  return out;
}

function lookupDotted(config: PyDict, key: string): { value: PyValue } | undefined {
  let current: PyValue = config;
  for (const part of key.split(".")) {
    if (current instanceof Map) {
      if (!current.has(part)) return undefined;
      current = current.get(part)!;
    } else if (Array.isArray(current) && /^\d+$/.test(part) && Number(part) < current.length) {
      current = current[Number(part)]!;
    } else {
      return undefined;
    }
  }
  return { value: current };
}

function tomlPlain(value: unknown): unknown {
  if (value instanceof TomlDate) return value.toISOString();
  if (Array.isArray(value)) return value.map(tomlPlain);
  if (typeof value === "object" && value !== null) {
    return new Map(Object.entries(value).map(([k, v]) => [k, tomlPlain(v)]));
  }
  return value;
}
