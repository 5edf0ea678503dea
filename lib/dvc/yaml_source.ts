import { isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import { StageFileError } from "./stage_file_error.ts";

/** A key path into a YAML document: mapping keys and sequence indexes. */
export type YamlPath = readonly (string | number)[];

/** A parsed YAML stage file that can tell where each of its values is. */
export interface YamlSource {
  /** The document as plain values (`null` for an empty file). */
  readonly data: unknown;
  /**
   * 1-based line of the value at `path`; when that value is missing, the
   * line of its nearest parent that exists (`undefined` for an empty file).
   */
  lineOf(path: YamlPath): number | undefined;
  /** Offsets `[start, end)` of the scalar at `path` in the text, when it is one. */
  scalarRange(path: YamlPath): [number, number] | undefined;
}

/** Git's conflict markers at the start of a line. */
const CONFLICT_MARKER = /^(<{7} |={7}$|>{7} )/m;

/**
 * Parses a stage file's YAML, keeping positions. Any syntax error (or
 * duplicate key, or second document) is a {@link StageFileError} naming
 * `file`, the line and column, and flagging Git conflict markers as DVC
 * does ("possible merge conflicts").
 */
export function parseYamlSource(
  text: string,
  file: string,
  options: { intAsBigInt?: boolean } = {},
): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    intAsBigInt: options.intAsBigInt ?? false,
    // Unknown tags and the like stay silent: the library would print them on stderr.
    logLevel: "error",
  });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0];
    const message = /call stack/i.test(error.message)
      ? TOO_DEEP
      : firstLine(error.message).replace(/ at line \d+, column \d+:?$/, "");
    throw new StageFileError(message, {
      file,
      line: pos?.line,
      column: pos?.col,
      conflict: CONFLICT_MARKER.test(text),
    });
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    const problem = yamlValueProblem(error);
    if (problem === undefined) throw error;
    throw new StageFileError(problem, { file });
  }
  const nodeAt = (path: YamlPath) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return { node, exact: depth === path.length };
    }
    return undefined;
  };
  /** Where the entry for `path` starts: its key's position in a mapping, else the value's. */
  const startOf = (path: YamlPath): number | undefined => {
    for (let depth = path.length; depth > 0; depth--) {
      const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
      const last = path[depth - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
        if (pair !== undefined && isNode(pair.key) && pair.key.range) return pair.key.range[0];
      }
      const node = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : undefined;
  };
  return {
    data,
    lineOf(path) {
      const offset = startOf(path);
      return offset === undefined ? undefined : lines.linePos(offset).line;
    },
    scalarRange(path) {
      const found = nodeAt(path);
      if (found === undefined || !found.exact) return undefined;
      const { node } = found;
      return isScalar(node) ? [node.range![0], node.range![1]] : undefined;
    },
  };
}

const TOO_DEEP = "its values are nested too deeply";

/**
 * Why a parsed YAML document cannot be turned into values, for the errors
 * the `yaml` library and the engine raise while doing it: more aliases than
 * the library expands (an "alias bomb": a few lines that stand for billions
 * of nodes), or nesting deeper than the stack. Undefined for other errors.
 */
export function yamlValueProblem(error: unknown): string | undefined {
  if (error instanceof ReferenceError && /alias/i.test(error.message)) {
    return "it uses more YAML aliases than dxp expands (at most 100)";
  }
  if (error instanceof RangeError && /call stack/i.test(error.message)) return TOO_DEEP;
  return undefined;
}

/** First line of a parser error, for a one-line message. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
