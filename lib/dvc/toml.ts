import { parse, TomlDate, TomlError as SyntaxProblem } from "smol-toml";

/**
 * TOML 1.0 params and metrics files, read with `smol-toml` (a conformant
 * parser) and turned into the plain values the YAML and JSON readers
 * give: ordinary objects and arrays, numbers (integers beyond 2^53 lose
 * precision, as in JSON and YAML params), and dates and times as text in
 * their usual written form (`1979-05-27T07:32:00Z`), since DVC shows them
 * as strings too.
 */

/** A TOML syntax error; the message names the line and column. */
export class TomlError extends Error {}

/** Parses TOML text into plain objects. Throws {@link TomlError}. */
export function parseToml(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(text, { integersAsBigInt: "asNeeded" });
  } catch (error) {
    if (!(error instanceof SyntaxProblem)) throw error;
    const what = error.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "");
    throw new TomlError(`${what} at line ${error.line}, column ${error.column}`, { cause: error });
  }
  return plainValue(doc) as Record<string, unknown>;
}

function plainValue(value: unknown): unknown {
  if (value instanceof TomlDate) return dateText(value);
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plainValue);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: a `__proto__` key stays an ordinary key.
      Object.defineProperty(out, key, {
        value: plainValue(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** A TOML date/time as usually written: ISO 8601, fractional seconds only when there are some. */
function dateText(date: TomlDate): string {
  return date.toISOString().replace(/\.000(?=$|[Zz+-])/, "");
}
