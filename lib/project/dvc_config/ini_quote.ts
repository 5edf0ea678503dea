import { configError } from "./errors.ts";
import type { IniValue } from "./ini_types.ts";

// Python's str.splitlines() boundaries other than "\n".
// deno-lint-ignore no-control-regex
const OTHER_LINE_BREAK = /[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

// What configobj treats as needing quotes at either end of a value.
const WSPACE_PLUS = " \r\n\v\t'\"";

/**
 * Quotes a value exactly as configobj writes it (DVC's writer): bare when
 * safe, `"…"` (or `'…'` when it holds `"`) when it has a comma, a `#`, or
 * whitespace/quotes at either end, triple quotes for multi-line text or text
 * with both quote kinds; lists as `a, b` (`a,` for one item, `,` for none).
 */
export function quoteValue(value: IniValue, multiline = true): string {
  if (Array.isArray(value)) {
    if (!multiline) throw unquotable(String(value));
    if (value.length === 0) return ",";
    if (value.length === 1) return `${quoteValue(value[0]!, false)},`;
    return value.map((item) => quoteValue(item, false)).join(", ");
  }
  if (value === "") return '""';
  // configobj splits files with str.splitlines(): any of its other line
  // breaks inside a value would cut the value (and the file) in two.
  if (OTHER_LINE_BREAK.test(value)) throw unquotable(value);
  const needTriple = multiline &&
    ((value.includes("'") && value.includes('"')) || value.includes("\n"));
  let quoted: string;
  if (needTriple) {
    if (value.includes('"""') && value.includes("'''")) throw unquotable(value);
    quoted = value.includes("'''") ? `"""${value}"""` : `'''${value}'''`;
  } else if (value.includes("\n")) {
    throw unquotable(value);
  } else if (
    !WSPACE_PLUS.includes(value[0]!) && !WSPACE_PLUS.includes(value[value.length - 1]!) &&
    !value.includes(",") && !value.includes("#")
  ) {
    quoted = value;
  } else {
    quoted = singleQuote(value);
  }
  return quoted;
}

/** A section header as configobj writes it: `[core]`, `['remote "name"']`. */
export function sectionHeader(name: string, indent = ""): string {
  return `${indent}[${quoteValue(name, false)}]`;
}

function singleQuote(value: string): string {
  if (value.includes("'") && value.includes('"')) throw unquotable(value);
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

function unquotable(value: string): Error {
  return configError(`Value cannot be safely quoted: ${JSON.stringify(value)}`);
}
