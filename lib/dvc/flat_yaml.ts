/**
 * The common params file — `lr: 0.001`, `epochs: 10`, one number per line —
 * read without the general YAML parser, which costs ~50 µs per file: `exp
 * show -A` over 10,000 experiments reads 10,000 of them. Anything else
 * (comments, nesting, strings, a key YAML would not read as a plain string,
 * a repeated key) returns undefined and goes to the YAML parser, so the
 * result is always what YAML 1.2 gives for the same text.
 */

/** `key: number`: an int without leading zeros (at most 15 digits) or a plain decimal. */
const LINE = /^([A-Za-z_][A-Za-z0-9_-]*): +(-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?) *$/;
/** Plain scalars YAML resolves to null or booleans, not strings. */
const NOT_STRING_KEYS = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

export function parseFlatNumbers(text: string): Record<string, number> | undefined {
  const data: Record<string, number> = {};
  let keys = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = LINE.exec(line);
    if (m === null) return undefined;
    const key = m[1]!;
    if (NOT_STRING_KEYS.test(key) || key === "__proto__" || Object.hasOwn(data, key)) {
      return undefined;
    }
    data[key] = Number(m[2]);
    keys++;
  }
  return keys === 0 ? undefined : data;
}
