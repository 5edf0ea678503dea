/**
 * The part of DVC's `dvc.yaml` templating (`${…}`) that decides stage names
 * and output paths: dotted/indexed lookups in a context built from `vars`,
 * `params.yaml`, and `item`/`key` of `foreach`/`matrix`. YAML integers are
 * expected as `bigint` (parse with `intAsBigInt`) so that floats print as
 * Python would (`1.0`, not `1`).
 */

/** A lookup or formatting failure; the caller turns it into a warning. */
export class InterpolationError extends Error {}

const EXPR = /(\\*)\$\{([^}]*)\}/g;

/** Resolves every string inside `value` (objects and arrays recursively). */
export function resolveDeep(value: unknown, ctx: Record<string, unknown>): unknown {
  if (typeof value === "string") return resolveString(value, ctx);
  if (Array.isArray(value)) return value.map((v) => resolveDeep(v, ctx));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveDeep(v, ctx);
    return out;
  }
  return value;
}

/**
 * Resolves one string. A string that is exactly one `${expr}` keeps the
 * value's type; otherwise each value is formatted as DVC's `to_str`. `\${`
 * escapes a literal `${`.
 */
export function resolveString(text: string, ctx: Record<string, unknown>): unknown {
  const matches = [...text.matchAll(EXPR)];
  if (matches.length === 0) return text;
  const only = matches[0];
  if (
    matches.length === 1 && only && only.index === 0 && only[0].length === text.length &&
    only[1] === ""
  ) {
    return lookup(ctx, (only[2] ?? "").trim());
  }
  return text.replace(EXPR, (_all, slashes: string, inner: string) => {
    // An odd number of backslashes escapes the `${`: drop one, keep it literal.
    if (slashes.length % 2 === 1) return `${slashes.slice(1)}\${${inner}}`;
    const value = lookup(ctx, inner.trim());
    if (typeof value === "object" && value !== null) {
      throw new InterpolationError(
        `cannot interpolate a ${Array.isArray(value) ? "list" : "dict"} into '${text}'`,
      );
    }
    return slashes + toStr(value);
  });
}

/** `a.b[0].c` lookup; throws {@link InterpolationError} when a key is missing. */
export function lookup(ctx: Record<string, unknown>, expr: string): unknown {
  if (!/^[^.[\]\s]+(\.[^.[\]\s]+|\[\d+\])*$/.test(expr)) {
    throw new InterpolationError(`'\${${expr}}' is not a supported expression`);
  }
  let current: unknown = ctx;
  for (const match of expr.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    const key = match[1] ?? match[2] ?? "";
    if (Array.isArray(current)) {
      const index = Number(key);
      if (!/^\d+$/.test(key) || index >= current.length) {
        throw new InterpolationError(`could not find '${expr}'`);
      }
      current = current[index];
    } else if (isPlainObject(current) && Object.hasOwn(current, key)) {
      current = current[key];
    } else {
      throw new InterpolationError(`could not find '${expr}'`);
    }
  }
  return current;
}

/** DVC's `to_str`: booleans lower-case, floats as Python's `repr`. */
export function toStr(value: unknown): string {
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return pyFloatRepr(value);
  if (value === null || value === undefined) return "None";
  return String(value);
}

/** Python's `repr(float)`: shortest round-trip digits, Python's notation rules. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  const [mantissa = "0", expText = "0"] = n.toExponential().split("e");
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace(/^-/, "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const frac = digits.slice(1);
    const e = `${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    return `${sign}${digits[0]}${frac ? `.${frac}` : ""}e${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const fracPart = digits.slice(exp + 1) || "0";
  return `${sign}${intPart}.${fracPart}`;
}

/** True for a YAML mapping as parsed (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
