import { createHash } from "node:crypto";
import { compareCodePoints, pyJsonString } from "./dir_manifest.ts";
import { pyFloatRepr } from "./interpolate.ts";

/**
 * A value as DVC holds it in Python, so that what dxp writes (YAML, JSON
 * for hashes) and compares follows Python's types: `bigint` is an `int`,
 * `number` a `float` (`3` and `3.0` print differently), `Map` a `dict`
 * (insertion-ordered, as Python's).
 */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | PyDict;

/** A Python `dict`: keys in insertion order. */
export type PyDict = Map<string, PyValue>;

/** Builds a {@link PyDict} from entries, skipping `undefined` values. */
export function pyDict(entries: Iterable<readonly [string, PyValue | undefined]>): PyDict {
  const out: PyDict = new Map();
  for (const [key, value] of entries) if (value !== undefined) out.set(key, value);
  return out;
}

/**
 * Turns a parsed YAML/JSON/TOML value (integers as `bigint`, floats as
 * `number`, plain objects) into a {@link PyValue}. Dates become their ISO
 * text; anything else unknown becomes its string form.
 */
export function toPyValue(value: unknown): PyValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean" || typeof value === "bigint" || typeof value === "string") {
    return value;
  }
  if (typeof value === "number") return value;
  if (Array.isArray(value)) return value.map(toPyValue);
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [String(k), toPyValue(v)]));
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") {
    return new Map(Object.entries(value).map(([k, v]) => [k, toPyValue(v)]));
  }
  return String(value);
}

/**
 * Python's `json.dumps(value, sort_keys=True)` with the default separators
 * (`", "`, `": "`) and `ensure_ascii`: what DVC hashes for experiment and
 * run-cache keys.
 */
export function pyJsonDumps(value: PyValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return pyFloatRepr(value);
  }
  if (typeof value === "string") return pyJsonString(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
  const keys = [...value.keys()].sort(compareCodePoints);
  return `{${keys.map((k) => `${pyJsonString(k)}: ${pyJsonDumps(value.get(k)!)}`).join(", ")}}`;
}

/** A copy of `value` without the mapping keys in `exclude`, at any depth (DVC's `dict_filter`). */
export function withoutKeys(value: PyValue, exclude: readonly string[]): PyValue {
  if (Array.isArray(value)) return value.map((v) => withoutKeys(v, exclude));
  if (value instanceof Map) {
    const out: PyDict = new Map();
    for (const [k, v] of value) if (!exclude.includes(k)) out.set(k, withoutKeys(v, exclude));
    return out;
  }
  return value;
}

/** DVC's `dict_sha256(d, exclude=…)`: SHA-256 hex of {@link pyJsonDumps} of the filtered value. */
export function dictSha256(value: PyValue, exclude: readonly string[] = []): string {
  const json = pyJsonDumps(exclude.length === 0 ? value : withoutKeys(value, exclude));
  return createHash("sha256").update(json, "utf8").digest("hex");
}

/**
 * Python's `==` between two values: dicts regardless of order, numbers by
 * value across int and float (`3 == 3.0`), `True == 1`.
 */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const num = (v: PyValue) =>
    typeof v === "boolean"
      ? (v ? 1 : 0)
      : typeof v === "bigint" || typeof v === "number"
      ? v
      : undefined;
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) {
    // deno-lint-ignore eqeqeq
    return typeof x === typeof y ? x === y : x == y;
  }
  if (typeof a === "string" || typeof b === "string" || a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => pyEquals(v, b[i]!));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !pyEquals(v, b.get(k)!)) return false;
    }
    return true;
  }
  return false;
}
