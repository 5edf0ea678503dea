import { isPlainObject } from "./interpolate.ts";
import { type EntryProblem, type HashFields, readHashFields, StageFileError } from "./out.ts";
import { parseYamlSource, type YamlPath } from "./yaml_source.ts";

export { firstLine } from "./yaml_source.ts";

/** One `outs` item of a `dvc.lock` stage. */
export interface LockedOut extends HashFields {
  /** As written: relative to the stage's `wdir`. */
  path: string;
  /** Key path of the item in the file (`["stages", "train", "outs", 0]`). */
  keyPath: YamlPath;
  /** 1-based line of the item. */
  line?: number;
  /** 1-based line of one of the item's fields (`md5`, `hash`), for messages. */
  lineOfField(key: string): number | undefined;
}

/**
 * Parses `dvc.lock` (spec §3.4) into stage name → outputs. Accepts schema
 * `'2.0'` and the old unversioned layout (stages at the top level). Throws
 * {@link StageFileError} (with the file and line) on anything DVC would
 * refuse to load.
 */
export function parseLockFile(text: string, file = "dvc.lock"): Map<string, LockedOut[]> {
  const source = parseYamlSource(text, file);
  const data = source.data;
  const fail: (detail: string, path: YamlPath) => never = (detail, path) => {
    throw new StageFileError(detail, { file, line: source.lineOf(path) });
  };
  const stages = new Map<string, LockedOut[]>();
  if (data === null || data === undefined) return stages;
  if (!isPlainObject(data)) return fail("the file is not a YAML mapping", []);
  let stageMap: Record<string, unknown> = data;
  let base: YamlPath = [];
  if ("schema" in data) {
    if (data["schema"] !== "2.0") {
      fail(`unsupported schema '${String(data["schema"])}' (DVC 3 writes '2.0')`, ["schema"]);
    }
    const raw = data["stages"] ?? {};
    if (!isPlainObject(raw)) return fail("'stages' must be a mapping", ["stages"]);
    stageMap = raw;
    base = ["stages"];
  }
  for (const [name, entry] of Object.entries(stageMap)) {
    if (!isPlainObject(entry)) fail(`stage '${name}' must be a mapping`, [...base, name]);
    const outs = entry["outs"] ?? [];
    if (!Array.isArray(outs)) {
      fail(`'outs' of stage '${name}' must be a list`, [...base, name, "outs"]);
    }
    stages.set(
      name,
      outs.map((item: unknown, index) => {
        const keyPath = [...base, name, "outs", index];
        if (!isPlainObject(item) || typeof item["path"] !== "string") {
          fail(`output ${index + 1} of stage '${name}' lacks a string 'path'`, keyPath);
        }
        const problem: EntryProblem = (detail, key) =>
          fail(
            `stage '${name}' output '${item["path"]}': ${detail}`,
            key === undefined ? keyPath : [...keyPath, key],
          );
        const line = source.lineOf(keyPath);
        return {
          path: item["path"],
          keyPath,
          ...(line !== undefined ? { line } : {}),
          lineOfField: (key: string) => source.lineOf([...keyPath, key]),
          ...readHashFields(item, problem),
        };
      }),
    );
  }
  return stages;
}
