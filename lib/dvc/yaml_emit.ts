import { pyFloatRepr } from "./interpolate.ts";
import type { PyDict, PyValue } from "./py_value.ts";

/**
 * YAML text exactly as DVC writes `dvc.lock`, `.dvc` and run-cache files:
 * ruamel.yaml's round-trip dumper with DVC's settings (block style, 2-space
 * indent, sequences inside mappings not indented, width 80, unicode kept).
 * The scalar rules (plain or quoted, where long lines fold) follow
 * ruamel's emitter step by step so that bytes match, including its quirks
 * (a folded plain line may end in a space).
 */

const WIDTH = 80;
const INDENT = 2;
const BREAKS = "\n\x85\u2028\u2029";
const SPACE_OR_BREAK = "\0 \t\r\n\x85\u2028\u2029";

/** Emits a whole document whose top level is a mapping (or any value). */
export function emitYaml(value: PyValue): string {
  const w = new Writer();
  w.node(value, { root: true });
  if (w.column !== 0) w.lineBreak();
  return w.text();
}

/**
 * Emits `value` as the value of key `key` inside a block mapping whose keys
 * sit at column `indent`: the text of that one key/value pair, ending in a
 * newline — what replaces a stage entry in `dvc.lock`.
 */
export function emitMappingEntry(key: string, value: PyValue, indent: number): string {
  const w = new Writer();
  w.column = 0;
  w.whitespace = true;
  w.indention = true;
  w.indent = indent;
  w.pairs(new Map([[key, value]]), indent);
  if (w.column !== 0) w.lineBreak();
  return w.text();
}

/**
 * One scalar as ruamel writes it after `key:` at `column` in a mapping with
 * keys at `indent` (used to replace a single value in place).
 */
export function emitScalarValue(value: PyValue, indent: number, column: number): string {
  const w = new Writer();
  w.column = column;
  w.whitespace = false;
  w.indention = false;
  w.indent = indent;
  w.scalarNode(value, { simpleKey: false });
  return w.text().replace(/^ /, "");
}

interface Context {
  root?: boolean;
  sequence?: boolean;
  mapping?: boolean;
  simpleKey?: boolean;
}

class Writer {
  parts: string[] = [];
  column = 0;
  whitespace = true;
  indention = true;
  indent: number | null = null;
  #indents: (number | null)[] = [];

  text(): string {
    return this.parts.join("");
  }

  write(data: string): void {
    this.column += codePoints(data).length;
    this.parts.push(data);
  }

  lineBreak(data = "\n"): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.parts.push(data);
  }

  writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.lineBreak();
    }
    if (this.column < indent) {
      this.whitespace = true;
      this.parts.push(" ".repeat(indent - this.column));
      this.column = indent;
    }
  }

  indicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false) {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.write(data);
  }

  increaseIndent(flow: boolean, indentless = false): void {
    this.#indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? null : 0;
    else if (!indentless) this.indent += INDENT;
  }

  popIndent(): void {
    this.indent = this.#indents.pop() ?? null;
  }

  node(value: PyValue, ctx: Context): void {
    if (value instanceof Map) {
      if (value.size === 0) {
        this.indicator("{", true, true);
        this.indicator("}", false);
        return;
      }
      // A mapping that is a sequence item starts on the dash's line (ruamel's compact_seq_map).
      this.increaseIndent(false);
      this.pairs(value, this.indent!);
      this.popIndent();
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        this.indicator("[", true, true);
        this.indicator("]", false);
        return;
      }
      const indentless = ctx.mapping === true && !this.indention;
      this.increaseIndent(false, indentless);
      // ruamel: a sequence directly inside a sequence starts on the outer dash's line.
      if (ctx.sequence) this.indention = true;
      for (const item of value) {
        this.writeIndent();
        this.indicator("-", true, false, true);
        this.node(item, { sequence: true });
      }
      this.popIndent();
      return;
    }
    this.scalarNode(value, ctx);
  }

  /** The pairs of a non-empty block mapping whose keys sit at the current indent. */
  pairs(map: PyDict, _indent: number): void {
    for (const [key, value] of map) {
      this.writeIndent();
      this.scalarNode(key, { mapping: true, simpleKey: true });
      this.indicator(":", false);
      this.node(value, { mapping: true });
    }
  }

  scalarNode(value: PyValue, ctx: Context): void {
    this.increaseIndent(true);
    const { text, implicit } = represent(value);
    const simpleKey = ctx.simpleKey === true;
    const style = chooseStyle(text, implicit, simpleKey);
    const split = !simpleKey;
    // ruamel: a sequence item scalar first moves to its indent (a null item leaves "- ").
    if (ctx.sequence) this.writeIndent();
    if (style === "") this.plain(text, split);
    else if (style === "'") this.singleQuoted(text, split);
    else this.doubleQuoted(text, split);
    this.popIndent();
  }

  plain(text: string, split: boolean): void {
    const chars = codePoints(text);
    if (chars.length === 0) return;
    if (!this.whitespace) this.write(" ");
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end]! : undefined;
      if (spaces) {
        if (ch !== " ") {
          if (start + 1 === end && this.column >= WIDTH && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.write(chars.slice(start, end).join(""));
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (chars[start] === "\n") this.lineBreak();
          for (const br of chars.slice(start, end)) this.lineBreak(br === "\n" ? "\n" : br);
          this.writeIndent();
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === undefined || ` ${BREAKS}`.includes(ch)) {
        const data = chars.slice(start, end).join("");
        if (
          end - start + this.column > WIDTH && this.indent !== null && this.column > this.indent
        ) {
          // ruamel: a word longer than the rest of the line gets a line of its own.
          this.writeIndent();
        }
        this.write(data);
        start = end;
      }
      if (ch !== undefined) {
        spaces = ch === " ";
        breaks = BREAKS.includes(ch);
      }
    }
  }

  singleQuoted(text: string, split: boolean): void {
    const chars = codePoints(text);
    this.indicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end]! : undefined;
      if (spaces) {
        if (ch === undefined || ch !== " ") {
          if (
            start + 1 === end && this.column > WIDTH && split && start !== 0 &&
            end !== chars.length
          ) {
            this.writeIndent();
          } else {
            this.write(chars.slice(start, end).join(""));
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (chars[start] === "\n") this.lineBreak();
          for (const br of chars.slice(start, end)) this.lineBreak(br === "\n" ? "\n" : br);
          this.writeIndent();
          start = end;
        }
      } else if (ch === undefined || ` ${BREAKS}`.includes(ch) || ch === "'") {
        if (start < end) {
          this.write(chars.slice(start, end).join(""));
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === " ";
        breaks = BREAKS.includes(ch);
      }
    }
    this.indicator("'", false);
  }

  doubleQuoted(text: string, split: boolean): void {
    const chars = codePoints(text);
    this.indicator('"', true);
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end]! : undefined;
      if (ch === undefined || needsEscape(ch)) {
        if (start < end) {
          this.write(chars.slice(start, end).join(""));
          start = end;
        }
        if (ch !== undefined) {
          this.write(escapeChar(ch));
          start = end + 1;
        }
      }
      if (
        end > 0 && end < chars.length - 1 && (ch === " " || start >= end) &&
        this.column + (end - start) > WIDTH && split
      ) {
        const needBackslash = backslashNeeded(chars, start, end);
        const data = chars.slice(start, end).join("") + (needBackslash ? "\\" : "");
        if (start < end) start = end;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (chars[start] === " ") {
          if (!needBackslash) start += 1;
          if (needBackslash) this.write("\\");
        }
      }
    }
    this.indicator('"', false);
  }
}

/** ruamel's check whether a folded double-quoted line must end in `\` (its issue 2010 fix). */
function backslashNeeded(chars: string[], start: number, end: number): boolean {
  if (chars.length <= end) return true;
  let spacePos = chars.indexOf(" ", end);
  if (spacePos < 0) return true;
  const nl = chars.indexOf("\n", end);
  if (nl >= 0 && nl < spacePos) spacePos = nl;
  const next = chars[spacePos + 1];
  if (next === undefined) return true; // Python's IndexError: keep the backslash
  if (chars[spacePos] === "\n" && next !== " ") return true;
  const between = chars.slice(end, spacePos);
  return !(
    !between.includes('"') && !between.includes("'") && !" \n".includes(next) &&
    chars.slice(end - 1, end + 1).join("") !== "  " && start !== end
  );
}

const ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\x08": "b",
  "\x09": "t",
  "\x0A": "n",
  "\x0B": "v",
  "\x0C": "f",
  "\x0D": "r",
  "\x1B": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xA0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

function needsEscape(ch: string): boolean {
  if ('"\\\x85\u2028\u2029\uFEFF'.includes(ch)) return true;
  const c = ch.codePointAt(0)!;
  if (c >= 0x20 && c <= 0x7e) return false;
  return !((c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000);
}

function escapeChar(ch: string): string {
  const short = ESCAPES[ch];
  if (short !== undefined) return `\\${short}`;
  const c = ch.codePointAt(0)!;
  if (c <= 0xff) return `\\x${c.toString(16).toUpperCase().padStart(2, "0")}`;
  if (c <= 0xffff) return `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
  return `\\U${c.toString(16).toUpperCase().padStart(8, "0")}`;
}

/** The text of a scalar and whether a plain scalar of that text reads back as the same type. */
function represent(value: PyValue): { text: string; implicit: boolean } {
  if (value === null) return { text: "", implicit: true };
  if (typeof value === "boolean") return { text: value ? "true" : "false", implicit: true };
  if (typeof value === "bigint") return { text: value.toString(), implicit: true };
  if (typeof value === "number") {
    if (Number.isNaN(value)) return { text: ".nan", implicit: true };
    if (!Number.isFinite(value)) return { text: value > 0 ? ".inf" : "-.inf", implicit: true };
    return { text: pyFloatRepr(value), implicit: true };
  }
  if (typeof value === "string") return { text: value, implicit: resolvesToString(value) };
  throw new Error("a collection is not a scalar");
}

// ruamel's YAML 1.2 implicit resolvers: a string matching one of them must be quoted.
const IMPLICIT = [
  /^(?:true|True|TRUE|false|False|FALSE)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
];

function resolvesToString(text: string): boolean {
  return !IMPLICIT.some((re) => re.test(text));
}

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
  allowDoubleQuoted: boolean;
}

function chooseStyle(text: string, implicit: boolean, simpleKey: boolean): "" | "'" | '"' {
  const a = analyze(text);
  if (implicit) {
    if (!(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) return "";
  }
  if (a.allowDoubleQuoted && (text.includes("'") || text.includes("\n"))) return '"';
  if (a.allowSingleQuoted && !(simpleKey && a.multiline)) return "'";
  return '"';
}

function analyze(scalar: string): Analysis {
  const chars = codePoints(scalar);
  if (chars.length === 0) {
    return {
      empty: true,
      multiline: false,
      allowBlockPlain: true,
      allowSingleQuoted: true,
      allowDoubleQuoted: true,
    };
  }
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (scalar.startsWith("---") || scalar.startsWith("...")) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = chars.length === 1 || SPACE_OR_BREAK.includes(chars[1]!);
  let previousSpace = false;
  let previousBreak = false;
  for (let index = 0; index < chars.length;) {
    const ch = chars[index]!;
    if (index === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) blockIndicators = true;
      if ("?:".includes(ch) && followedByWhitespace) blockIndicators = true;
      if (ch === "-" && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ":" && followedByWhitespace) blockIndicators = true;
      if (ch === "#" && precededByWhitespace) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const c = ch.codePointAt(0)!;
    if (!(ch === "\n" || (c >= 0x20 && c <= 0x7e))) {
      const unicode = c === 0x85 || (c >= 0xa0 && c <= 0xd7ff) ||
        (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
      if (!unicode || c === 0xfeff) special = true;
    }
    if (ch === " ") {
      if (index === 0) leadingSpace = true;
      if (index === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    index++;
    precededByWhitespace = SPACE_OR_BREAK.includes(ch);
    followedByWhitespace = index + 1 >= chars.length ||
      SPACE_OR_BREAK.includes(chars[index + 1]!);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (special || spaceBreak) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return {
    empty: false,
    multiline: lineBreaks,
    allowBlockPlain,
    allowSingleQuoted,
    allowDoubleQuoted: true,
  };
}

function codePoints(text: string): string[] {
  return Array.from(text);
}
