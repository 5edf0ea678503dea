/** Parsing the Git object formats the pack walk needs: commits, trees, tags. */
import { CorruptError } from "../../errors/mod.ts";

const decoder = new TextDecoder();

export interface ParsedCommit {
  readonly tree: string;
  readonly parents: string[];
  /** Committer time (seconds since the epoch). */
  readonly time: number;
}

export interface ParsedTreeEntry {
  readonly mode: string;
  readonly name: string;
  readonly oid: string;
  readonly type: "tree" | "blob" | "commit";
}

/** Reads the header lines of a commit (up to the blank line before the message). */
export function parseCommit(oid: string, data: Uint8Array): ParsedCommit {
  const end = findBlankLine(data);
  const lines = decoder.decode(data.subarray(0, end)).split("\n");
  let tree: string | undefined;
  const parents: string[] = [];
  let time = 0;
  for (const line of lines) {
    if (line.startsWith("tree ")) tree = line.slice(5, 45);
    else if (line.startsWith("parent ")) parents.push(line.slice(7, 47));
    else if (line.startsWith("committer ")) {
      const m = / (\d+) [+-]\d{4}$/.exec(line);
      if (m !== null) time = Number(m[1]);
    }
  }
  if (tree === undefined) throw new CorruptError(`Git commit '${oid}' has no tree.`);
  return { tree, parents, time };
}

/** The object a tag points at and that object's type. */
export function parseTag(oid: string, data: Uint8Array): { object: string; type: string } {
  const lines = decoder.decode(data.subarray(0, findBlankLine(data))).split("\n");
  const object = lines.find((l) => l.startsWith("object "))?.slice(7, 47);
  const type = lines.find((l) => l.startsWith("type "))?.slice(5);
  if (object === undefined || type === undefined) {
    throw new CorruptError(`Git tag '${oid}' is malformed.`);
  }
  return { object, type };
}

/** The entries of a tree object. */
export function parseTree(oid: string, data: Uint8Array): ParsedTreeEntry[] {
  const entries: ParsedTreeEntry[] = [];
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    const nul = data.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > data.length) {
      throw new CorruptError(`Git tree '${oid}' is malformed.`);
    }
    const mode = decoder.decode(data.subarray(i, space));
    const name = decoder.decode(data.subarray(space + 1, nul));
    let hex = "";
    for (let k = nul + 1; k < nul + 21; k++) hex += data[k]!.toString(16).padStart(2, "0");
    const type = mode === "40000" || mode === "040000"
      ? "tree"
      : mode === "160000"
      ? "commit"
      : "blob";
    entries.push({ mode, name, oid: hex, type });
    i = nul + 21;
  }
  return entries;
}

function findBlankLine(data: Uint8Array): number {
  for (let i = 0; i + 1 < data.length; i++) if (data[i] === 10 && data[i + 1] === 10) return i;
  return data.length;
}
