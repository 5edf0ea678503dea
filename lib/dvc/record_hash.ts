import { StageFileError } from "./stage_file_error.ts";
import { parseYamlSource, type YamlPath } from "./yaml_source.ts";

/** A new hash for one output entry of a `dvc.lock` or `.dvc` file. */
export interface HashUpdate {
  /** Key path of the entry's mapping (`DvcOut.entry.keyPath`). */
  readonly keyPath: YamlPath;
  readonly md5: string;
  readonly size?: number;
  readonly nfiles?: number;
}

/**
 * Writes new hashes into a stage file's text, as `dvc commit` records a
 * changed output: each entry's `md5` value is replaced, and `size` and
 * `nfiles` when the entry has them. Only those values change; every other
 * byte (comments, order, quoting) stays. Throws {@link StageFileError}
 * when an entry has no `md5` to replace.
 */
export function recordHashes(text: string, file: string, updates: readonly HashUpdate[]): string {
  const source = parseYamlSource(text, file);
  const edits: { at: [number, number]; value: string }[] = [];
  for (const update of updates) {
    const md5 = source.scalarRange([...update.keyPath, "md5"]);
    if (md5 === undefined) {
      throw new StageFileError("the output entry has no 'md5' to update", {
        file,
        line: source.lineOf(update.keyPath),
      });
    }
    edits.push({ at: md5, value: update.md5 });
    for (const key of ["size", "nfiles"] as const) {
      const value = update[key];
      const range = source.scalarRange([...update.keyPath, key]);
      if (value !== undefined && range !== undefined) {
        edits.push({ at: range, value: String(value) });
      }
    }
  }
  edits.sort((a, b) => b.at[0] - a.at[0]);
  let out = text;
  for (const { at: [start, end], value } of edits) {
    out = out.slice(0, start) + value + out.slice(end);
  }
  return out;
}
