import { pyRepr } from "../../util/mod.ts";
import { configError } from "./errors.ts";
import type { IniDocument, IniEntry, IniSection, IniValue } from "./ini_types.ts";

// The regular expressions below follow configobj's, which is what DVC parses
// its config files with; matching them keeps every accepted and refused line
// the same as real DVC.
const SECTION_MARKER =
  /^(\s*)((?:\[\s*)+)((?:"\s*\S.*?\s*")|(?:'\s*\S.*?\s*')|(?:[^'"\s].*?))((?:\s*\])+)(\s*(?:#.*)?)?$/;
const KEYWORD = /^(\s*)((?:".*?")|(?:'.*?')|(?:[^'"=].*?))\s*=\s*(.*)$/;
const VALUE =
  /^(?:(?:((?:(?:(?:".*?")|(?:'.*?')|(?:[^'",#][^,#]*?))\s*,\s*)*)((?:".*?")|(?:'.*?')|(?:[^'",#\s][^,]*?)|(?:(?<!,)))?)|(,))(\s*(?:#.*)?)?$/;
const LIST_ITEM = /((?:".*?")|(?:'.*?')|(?:[^'",#]?.*?))\s*,\s*/g;
const TRIPLE: Record<string, { single: RegExp; multi: RegExp }> = {
  "'''": { single: /^'''(.*?)'''(\s*(?:#.*)?)?$/, multi: /^(.*?)'''(\s*(?:#.*)?)?$/ },
  '"""': { single: /^"""(.*?)"""(\s*(?:#.*)?)?$/, multi: /^(.*?)"""(\s*(?:#.*)?)?$/ },
};

// Python's str.splitlines() boundaries: configobj splits the file with it.
// deno-lint-ignore no-control-regex
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;

/** Splits text into lines and the terminator that followed each one. */
export function splitLines(text: string): { lines: string[]; terminators: string[] } {
  const lines: string[] = [];
  const terminators: string[] = [];
  let start = 0;
  for (const match of text.matchAll(LINE_BREAK)) {
    lines.push(text.slice(start, match.index));
    terminators.push(match[0]);
    start = match.index + match[0].length;
  }
  if (start < text.length) {
    lines.push(text.slice(start));
    terminators.push("");
  }
  return { lines, terminators };
}

/**
 * Parses a DVC config file the way configobj does (no interpolation yet, no
 * lower-casing): sections, keys, quoted/unquoted/list/multi-line values,
 * comments. Like configobj, a bad line is skipped and parsing goes on; at the
 * end DVC's `config file error` (a ConfigError) is thrown with configobj's
 * wording: `<problem> at line <n>.` for one bad line, `Parsing failed with
 * several errors. First error at line <n>.` for more (configobj puts a line
 * break before "First"; one line here, as every dxp error).
 */
export function parseIni(text: string, file: string): IniDocument {
  const bom = text.startsWith("\ufeff");
  const { lines, terminators } = splitLines(bom ? text.slice(1) : text);
  const newline = terminators.find((t) => t === "\r\n" || t === "\n" || t === "\r") ?? "\n";
  const root: IniSection = {
    name: "",
    depth: 0,
    line: -1,
    indent: "",
    comment: "",
    entries: [],
    sections: [],
    lastLine: -1,
  };
  const parents = new Map<IniSection, IniSection>([[root, root]]);
  const errors: { what: string; line: number }[] = [];
  const fail = (what: string, index: number) => {
    errors.push({ what, line: index + 1 });
  };

  let current = root;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const stripped = line.trim();
    if (stripped === "" || stripped.startsWith("#")) continue;

    const marker = SECTION_MARKER.exec(line);
    if (marker) {
      const [, indent = "", open = "", rawName = "", close = "", comment = ""] = marker;
      const depth = count(open, "[");
      if (depth !== count(close, "]")) {
        fail("Cannot compute the section depth", index);
        continue;
      }
      let parent: IniSection;
      if (depth < current.depth) {
        let walk = current;
        while (walk.depth > depth && walk !== root) walk = parents.get(walk)!;
        if (walk.depth !== depth) {
          fail("Cannot compute nesting level", index);
          continue;
        }
        parent = parents.get(walk)!;
      } else if (depth === current.depth) {
        parent = parents.get(current)!;
      } else if (depth === current.depth + 1) {
        parent = current;
      } else {
        fail("Section too nested", index);
        continue;
      }
      const name = unquote(rawName);
      if (has(parent, name)) {
        fail("Duplicate section name", index);
        continue;
      }
      const section: IniSection = {
        name,
        depth,
        line: index,
        indent,
        comment,
        entries: [],
        sections: [],
        lastLine: index,
      };
      parent.sections.push(section);
      parents.set(section, parent);
      current = section;
      continue;
    }

    const keyword = KEYWORD.exec(line);
    if (!keyword) {
      fail(`Invalid line (${pyRepr(line)}) (matched as neither section nor keyword)`, index);
      continue;
    }
    const [, indent = "", rawKey = "", rawValue = ""] = keyword;
    let value: IniValue;
    let comment: string;
    let endLine = index;
    const quote = rawValue.slice(0, 3);
    if (quote === "'''" || quote === '"""') {
      const multi = multiline(rawValue, quote, lines, index);
      if (!multi) {
        fail("Parse error in multiline value", index);
        continue;
      }
      ({ value, comment, endLine } = multi);
    } else {
      const handled = handleValue(rawValue);
      if (!handled) {
        fail("Parse error in value", index);
        continue;
      }
      ({ value, comment } = handled);
    }
    const key = unquote(rawKey);
    if (has(current, key)) {
      fail("Duplicate keyword name", index);
      continue;
    }
    const entry: IniEntry = { key, value, line: index, endLine, indent, comment };
    current.entries.push(entry);
    current.lastLine = endLine;
    index = endLine;
  }
  const first = errors[0];
  if (first) {
    throw configError(
      errors.length === 1
        ? `${first.what} at line ${first.line}.`
        : `Parsing failed with several errors. First error at line ${first.line}.`,
      { file },
    );
  }
  return { file, lines, terminators, newline, bom, root };
}

function count(text: string, ch: string): number {
  let n = 0;
  for (const c of text) if (c === ch) n++;
  return n;
}

function has(section: IniSection, name: string): boolean {
  return section.entries.some((e) => e.key === name) ||
    section.sections.some((s) => s.name === name);
}

/** configobj's `_unquote`: drops one pair of matching outer quotes (a lone quote becomes ""). */
function unquote(text: string): string {
  const first = text[0];
  if ((first === '"' || first === "'") && text[text.length - 1] === first) return text.slice(1, -1);
  return text;
}

/** configobj's `_handle_value`: unquote, drop the comment, split lists. */
function handleValue(raw: string): { value: IniValue; comment: string } | undefined {
  const match = VALUE.exec(raw);
  if (!match) return undefined;
  const listPart = match[1];
  let single = match[2];
  const emptyList = match[3];
  const comment = match[4] ?? "";
  if (emptyList !== undefined) return { value: [], comment };
  // Python leaves the optional last-item group as '' when its empty
  // alternative matched; JavaScript leaves it undefined. Undo the difference.
  if (single === undefined && listPart === "") single = "";
  if (single !== undefined) {
    if (listPart && !single) single = undefined; // trailing comma: "a," is ["a"]
    else single = unquote(single || '""');
  }
  if (listPart === "" || listPart === undefined) {
    return single === undefined ? undefined : { value: single, comment };
  }
  const items: string[] = [];
  for (const item of listPart.matchAll(LIST_ITEM)) {
    const text = item[1] ?? "";
    if (text === "") return undefined;
    items.push(unquote(text));
  }
  if (single !== undefined) items.push(single);
  return { value: items, comment };
}

/** configobj's `_multiline`: a value in triple quotes, on one line or several. */
function multiline(
  raw: string,
  quote: string,
  lines: readonly string[],
  start: number,
): { value: string; comment: string; endLine: number } | undefined {
  const { single, multi } = TRIPLE[quote]!;
  const one = single.exec(raw);
  if (one) return { value: one[1] ?? "", comment: one[2] ?? "", endLine: start };
  let value = raw.slice(3);
  if (value.includes(quote)) return undefined;
  for (let index = start + 1; index < lines.length; index++) {
    const line = lines[index]!;
    value += "\n";
    if (!line.includes(quote)) {
      value += line;
      continue;
    }
    const last = multi.exec(line);
    if (!last) return undefined;
    return { value: value + (last[1] ?? ""), comment: last[2] ?? "", endLine: index };
  }
  return undefined;
}
