import { parse } from "yaml";
import { isPlainObject } from "./interpolate.ts";
import { type HashFields, readHashFields, StageFileError } from "./out.ts";

/** One `outs` item of a `dvc.lock` stage. */
export interface LockedOut extends HashFields {
  /** As written: relative to the stage's `wdir`. */
  path: string;
}

/**
 * Parses `dvc.lock` (spec §3.4) into stage name → outputs. Accepts schema
 * `'2.0'` and the old unversioned layout (stages at the top level). Throws
 * {@link StageFileError} on anything DVC would refuse to load.
 */
export function parseLockFile(text: string, file = "dvc.lock"): Map<string, LockedOut[]> {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new StageFileError(`'${file}' is not valid YAML: ${firstLine(error)}`);
  }
  const stages = new Map<string, LockedOut[]>();
  if (data === null || data === undefined) return stages;
  if (!isPlainObject(data)) throw new StageFileError(`'${file}' is not a YAML mapping`);
  let stageMap: Record<string, unknown> = data;
  if ("schema" in data) {
    if (data["schema"] !== "2.0") {
      throw new StageFileError(`'${file}' has unsupported schema '${String(data["schema"])}'`);
    }
    const raw = data["stages"] ?? {};
    if (!isPlainObject(raw)) throw new StageFileError(`'${file}': 'stages' must be a mapping`);
    stageMap = raw;
  }
  for (const [name, entry] of Object.entries(stageMap)) {
    if (!isPlainObject(entry)) {
      throw new StageFileError(`'${file}': stage '${name}' must be a mapping`);
    }
    const outs = entry["outs"] ?? [];
    if (!Array.isArray(outs)) {
      throw new StageFileError(`'${file}': 'outs' of stage '${name}' must be a list`);
    }
    stages.set(
      name,
      outs.map((item: unknown, index) => {
        const where = `'${file}' stage '${name}' outs[${index}]`;
        if (!isPlainObject(item) || typeof item["path"] !== "string") {
          throw new StageFileError(`${where} lacks a string 'path'`);
        }
        return { path: item["path"], ...readHashFields(item, where) };
      }),
    );
  }
  return stages;
}

/** First line of a parser error, for a one-line warning. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
