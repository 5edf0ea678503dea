import { pyFloatRepr } from "../../dvc/interpolate.ts";

/** DVC's default `--precision` for table cells (`dvc.commands.metrics.DEFAULT_PRECISION`). */
export const DEFAULT_PRECISION = 5;

/**
 * A params/metrics value as DVC prints it in a table cell: floats with
 * Python's `{:.<precision>g}` (or `repr` without a precision), integers
 * as-is, booleans `True`/`False`, lists Python-style (`[1, 'a']`).
 * Integer-valued numbers print as integers: JSON parsing cannot tell `3.0`
 * from `3`, and a large integer such as a seed must never become `2e+07`.
 */
export function formatValue(value: unknown, precision: number | null): string {
  if (typeof value === "string") return value;
  return inner(value, precision, false);
}

function inner(value: unknown, precision: number | null, nested: boolean): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return precision !== null && precision > 0 ? formatG(value, precision) : pyFloatRepr(value);
  }
  if (typeof value === "string") return nested ? `'${value.replaceAll("'", "\\'")}'` : value;
  if (Array.isArray(value)) return `[${value.map((v) => inner(v, precision, true)).join(", ")}]`;
  if (typeof value === "object") {
    const items = Object.entries(value).map(([k, v]) => `'${k}': ${inner(v, precision, true)}`);
    return `{${items.join(", ")}}`;
  }
  return String(value);
}

/** Python's `format(x, ".<p>g")`: `p` significant digits, trailing zeros dropped. */
export function formatG(x: number, p: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa = "0", expText = "0"] = x.toExponential(p - 1).split("e");
  const exp = Number(expText);
  if (exp >= -4 && exp < p) return stripZeros(x.toFixed(p - 1 - exp));
  const sign = exp < 0 ? "-" : "+";
  return `${stripZeros(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
}

function stripZeros(text: string): string {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}
