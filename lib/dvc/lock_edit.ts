import { isMap, isNode, isScalar, isSeq, type Node, parseDocument, type YAMLMap } from "yaml";
import { StageFileError } from "./stage_file_error.ts";
import { type PyDict, pyEquals, type PyValue, toPyValue } from "./py_value.ts";
import { emitMappingEntry, emitScalarValue, emitYaml } from "./yaml_emit.ts";

/** What {@link updateLockText} made. */
export interface LockUpdate {
  readonly text: string;
  /** The file did not exist or was empty (DVC: "Generating lock file"). */
  readonly generated: boolean;
  /** Some stage's entry differs from what the file held (DVC: "Updating lock file"). */
  readonly modified: boolean;
}

/**
 * Writes stage entries into `dvc.lock` text as DVC's `Lockfile.dump_stages`
 * does: a new file gets `schema: '2.0'` and the stages; in an existing one
 * each given stage's entry is replaced whole where it stands, new stages
 * are appended, everything else keeps its bytes. An entry equal to the one
 * in the file (Python equality) keeps its bytes when it would be written
 * the same; `modified` tells whether any entry's content changed.
 */
export function updateLockText(
  oldText: string | undefined,
  entries: ReadonlyMap<string, PyDict>,
  file: string,
): LockUpdate {
  const doc = oldText === undefined ? undefined : parseDocument(oldText, { intAsBigInt: true });
  if (doc !== undefined && doc.errors.length > 0) {
    throw new StageFileError(`'${file}' cannot be parsed, so it cannot be updated`, { file });
  }
  const contents = doc?.contents;
  const empty = contents === null || contents === undefined ||
    (isMap(contents) && contents.items.length === 0) ||
    (isScalar(contents) && (contents.value === null || contents.value === ""));
  if (oldText === undefined || empty) {
    const data: PyDict = new Map<string, PyValue>([["schema", "2.0"], [
      "stages",
      new Map(entries),
    ]]);
    return { text: emitYaml(data), generated: true, modified: entries.size > 0 };
  }
  if (!isMap(contents)) {
    throw new StageFileError(`'${file}' is not a YAML mapping, so it cannot be updated`, { file });
  }
  const text = oldText;
  const stagesPair = contents.items.find((p) => isScalar(p.key) && p.key.value === "stages");
  if (stagesPair === undefined) {
    if (!contents.has("schema")) {
      throw new StageFileError(
        `'${file}' has the old layout without 'schema'; run 'dvc commit' once with DVC 3 to upgrade it`,
        { file },
      );
    }
    const tail = text.endsWith("\n") || text === "" ? text : `${text}\n`;
    return {
      text: tail + emitMappingEntry("stages", new Map(entries), 0),
      generated: false,
      modified: entries.size > 0,
    };
  }
  const stages = stagesPair.value;
  if (!isMap(stages) || stages.flow || stages.items.length === 0) {
    // `stages: {}` (or an unusual layout): the whole pair is written anew.
    const old = isMap(stages) ? plainMap(stages) : new Map<string, PyValue>();
    const merged: PyDict = new Map(old);
    let modified = false;
    for (const [name, entry] of entries) {
      if (!old.has(name) || !pyEquals(old.get(name)!, entry)) modified = true;
      merged.set(name, entry);
    }
    const start = lineStart(text, (stagesPair.key as Node).range![0]);
    const end = lineEnd(
      text,
      isNode(stages) ? stages.range![1] : (stagesPair.key as Node).range![1],
    );
    return {
      text: text.slice(0, start) + emitMappingEntry("stages", merged, 0) + text.slice(end),
      generated: false,
      modified,
    };
  }
  const indent = column(text, (stages.items[0]!.key as Node).range![0]);
  const edits: { start: number; end: number; value: string }[] = [];
  let modified = false;
  const seen = new Set<string>();
  for (const pair of stages.items) {
    if (!isScalar(pair.key)) continue;
    const name = String(pair.key.value);
    const entry = entries.get(name);
    if (entry === undefined || seen.has(name)) continue;
    seen.add(name);
    const old = toPyValue(isNode(pair.value) ? pair.value.toJS(doc!, { mapAsMap: true }) : null);
    if (!pyEquals(old, entry)) modified = true;
    const start = lineStart(text, (pair.key as Node).range![0]);
    const valueEnd = isNode(pair.value) ? pair.value.range![1] : (pair.key as Node).range![1];
    const end = lineEnd(text, valueEnd);
    const fresh = emitMappingEntry(name, entry, indent);
    if (text.slice(start, end) !== fresh) edits.push({ start, end, value: fresh });
  }
  const appended: string[] = [];
  for (const [name, entry] of entries) {
    if (seen.has(name)) continue;
    modified = true;
    appended.push(emitMappingEntry(name, entry, indent));
  }
  if (appended.length > 0) {
    const last = stages.items[stages.items.length - 1]!;
    const at = lineEnd(
      text,
      isNode(last.value) ? last.value.range![1] : (last.key as Node).range![1],
    );
    edits.push({ start: at, end: at, value: appended.join("") });
  }
  return { text: applyEdits(text, edits), generated: false, modified };
}

/** New values for one output entry of a `.dvc` file (`outs[index]`). */
export interface DvcOutUpdate {
  readonly index: number;
  /** The entry as DVC would write it (`md5`, `size`, `nfiles`, `isexec`, `hash`, `path`, flags). */
  readonly entry: PyDict;
}

/**
 * Applies new output entries to a `.dvc` file's text the way DVC's
 * `apply_diff` does on the parsed original: a key that stays keeps its
 * place and only its value changes, a new key is appended to the entry, a
 * key the new entry lacks is removed. Every other byte stays.
 */
export function updateDvcFileText(text: string, file: string, updates: readonly DvcOutUpdate[]) {
  const doc = parseDocument(text, { intAsBigInt: true });
  if (doc.errors.length > 0 || !isMap(doc.contents)) {
    throw new StageFileError(`'${file}' cannot be parsed, so it cannot be updated`, { file });
  }
  const outs = doc.contents.get("outs", true);
  if (!isSeq(outs)) throw new StageFileError(`'${file}' has no 'outs' list`, { file });
  const edits: { start: number; end: number; value: string }[] = [];
  for (const { index, entry } of updates) {
    const item = outs.items[index];
    if (!isMap(item) || item.flow) {
      throw new StageFileError(`output ${index + 1} of '${file}' is not a block mapping`, { file });
    }
    edits.push(...mapEdits(text, item, entry, doc));
  }
  return applyEdits(text, edits);
}

function mapEdits(
  text: string,
  item: YAMLMap,
  entry: PyDict,
  doc: ReturnType<typeof parseDocument>,
): { start: number; end: number; value: string }[] {
  const edits: { start: number; end: number; value: string }[] = [];
  const keyColumn = column(text, (item.items[0]!.key as Node).range![0]);
  const present = new Set<string>();
  for (const pair of item.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    present.add(key);
    const keyNode = pair.key as Node;
    if (!entry.has(key)) {
      // Removed key: its whole line(s) go; the first key of an item keeps the dash.
      const start = pair === item.items[0] ? keyNode.range![0] : lineStart(text, keyNode.range![0]);
      const valueEnd = isNode(pair.value) ? pair.value.range![1] : keyNode.range![1];
      const end = lineEnd(text, valueEnd);
      edits.push({
        start,
        end: pair === item.items[0] ? end + indentAfter(text, end, keyColumn) : end,
        value: "",
      });
      continue;
    }
    const value = entry.get(key)!;
    const old = toPyValue(isNode(pair.value) ? pair.value.toJS(doc, { mapAsMap: true }) : null);
    if (pyEquals(old, value)) continue;
    if (!isScalar(pair.value) || value instanceof Map || Array.isArray(value)) {
      throw new StageFileError("an output entry holds a value dxp cannot update in place", {});
    }
    const [vs, ve] = pair.value.range!;
    const valueColumn = column(text, vs);
    edits.push({ start: vs, end: ve, value: emitScalarValue(value, keyColumn, valueColumn - 1) });
  }
  const added = [...entry].filter(([key]) => !present.has(key));
  if (added.length > 0) {
    const last = item.items[item.items.length - 1]!;
    const lastEnd = isNode(last.value) ? last.value.range![1] : (last.key as Node).range![1];
    const at = lineEnd(text, lastEnd);
    const lines = added.map(([key, value]) => emitMappingEntry(key, value, keyColumn)).join("");
    edits.push({ start: at, end: at, value: (text[at - 1] === "\n" ? "" : "\n") + lines });
  }
  return edits;
}

function plainMap(map: YAMLMap): PyDict {
  const out: PyDict = new Map();
  for (const pair of map.items) {
    if (!isScalar(pair.key)) continue;
    out.set(String(pair.key.value), toPyValue(isNode(pair.value) ? pair.value.toJSON() : null));
  }
  return out;
}

function applyEdits(text: string, edits: { start: number; end: number; value: string }[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.value + out.slice(e.end);
  }
  return out;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** The offset just past the newline ending the line that holds `offset - 1`. */
function lineEnd(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === "\n") return offset;
  const nl = text.indexOf("\n", offset);
  return nl < 0 ? text.length : nl + 1;
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

/** The indentation to drop after removing an item's first key (the next key moves up to the dash). */
function indentAfter(text: string, at: number, width: number): number {
  return /^ *$/.test(text.slice(at, at + width)) ? width : 0;
}
