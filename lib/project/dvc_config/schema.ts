import { pyRepr } from "../../util/mod.ts";
import type { ConfigData, SectionData } from "./config_data.ts";
import { configError } from "./errors.ts";
import type { IniValue } from "./ini_types.ts";
import {
  type Check,
  DB_KEYS,
  type KeyTable,
  LENIENT_SECTIONS,
  MACHINE_KEYS,
  REMOTE_KEYS,
  SECTION_KEYS,
} from "./schema_tables.ts";

/**
 * Checks a merged config against DVC's schema and throws DVC's message for
 * the first problem, e.g. `config file error: extra keys not allowed @
 * data['remote']['x']['foo']` (voluptuous wording).
 */
export function validateConfigData(data: ConfigData): void {
  for (const item of data.misplaced) {
    const [top] = item.path;
    const known = item.path.length === 1 && top !== undefined &&
      (top in SECTION_KEYS || top === "remote" || top === "machine" || top === "db");
    fail(
      known ? "expected a dictionary for dictionary value" : "extra keys not allowed",
      item.path,
    );
  }
  for (const [name, section] of data.named.remote) checkRemote(name, section);
  for (const [name, section] of data.named.machine) {
    checkSection(section, MACHINE_KEYS, ["machine", name], false);
  }
  for (const [name, section] of data.sections) {
    const table = SECTION_KEYS[name];
    if (!table) fail("extra keys not allowed", [name]);
    checkSection(section, table!, [name], LENIENT_SECTIONS.has(name));
    if (name === "hydra" && section.has("config_dir") && section.has("config_module")) {
      fail("two or more values in the same group of exclusion 'config_source'", ["hydra"]);
    }
  }
  for (const [name, section] of data.named.db) checkSection(section, DB_KEYS, ["db", name], false);
}

/** Python's `urlparse(url)` scheme (lower-cased) and netloc, enough to pick a remote type. */
export function splitUrl(url: string): { scheme: string; netloc: string; path: string } {
  let rest = url;
  let scheme = "";
  const colon = url.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    rest = url.slice(colon + 1);
  }
  let netloc = "";
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end === -1 ? rest.slice(2) : rest.slice(2, 2 + end);
    rest = end === -1 ? "" : rest.slice(2 + end);
  }
  return { scheme, netloc, path: rest.replace(/[?#].*$/s, "") };
}

/** The remote type DVC picks for a URL: "" (local path), "s3", "ssh", … or "remote". */
export function remoteTypeOf(url: string): string {
  const { scheme, netloc } = splitUrl(url);
  return netloc ? scheme : "";
}

function checkRemote(name: string, section: SectionData): void {
  const path = ["remote", name];
  const url = section.get("url");
  if (!url) fail("expected 'url' for dictionary value", path);
  if (typeof url!.value !== "string") fail("expected str for dictionary value", [...path, "url"]);
  const type = remoteTypeOf(url!.value as string);
  if (type === "remote") return; // `remote://other/sub` accepts any option
  const table = REMOTE_KEYS[type];
  if (!table) fail(`Unsupported URL type ${type}:// for dictionary value`, path);
  checkSection(section, table!, path, false);
}

function checkSection(
  section: SectionData,
  table: KeyTable,
  path: readonly string[],
  lenient: boolean,
): void {
  for (const [key, sourced] of section) {
    const check = table[key];
    if (check === undefined) {
      if (lenient) continue;
      fail("extra keys not allowed", [...path, key]);
    }
    const problem = checkValue(check!, sourced.value);
    if (problem) fail(`${problem} for dictionary value`, [...path, key]);
  }
}

/** Returns voluptuous's message for a bad value, or undefined when it passes. */
export function checkValue(check: Check, value: IniValue | undefined): string | undefined {
  if (check === "any" || check === "lower") return undefined;
  if (typeof check === "object" && "choices" in check) {
    const ok = typeof value === "string" && check.choices.includes(value.toLowerCase());
    return ok ? undefined : `expected one of ${check.choices.join(", ")}`;
  }
  if (check === "cache_type") {
    if (value === undefined) return undefined;
    const types = typeof value === "string" ? value.split(",").map((t) => t.trim()) : value;
    const bad = types.filter((t) => !["reflink", "hardlink", "symlink", "copy"].includes(t));
    return bad.length ? `Unsupported cache type(s): ${bad.join(", ")}` : undefined;
  }
  if (typeof value !== "string") {
    if (check === "bool" || check === "bool_or_str") return "expected true or false";
    if (check === "int" || check === "posint" || typeof check === "object") return "expected int";
    if (check === "float" || check === "nonneg_float") return "expected float";
    return check === "python_bool" ? "expected bool" : "expected str";
  }
  switch (check) {
    case "str":
    case "bool_or_str":
      return undefined;
    case "python_bool":
      return "expected bool";
    case "bool":
      return /^(true|false)$/i.test(value) ? undefined : "expected true or false";
    case "int":
      return pythonInt(value) === undefined ? "expected int" : undefined;
    case "posint": {
      const n = pythonInt(value);
      if (n === undefined) return "expected int";
      return n < 1 ? "value must be at least 1" : undefined;
    }
    case "float":
    case "nonneg_float": {
      const n = pythonFloat(value);
      if (n === undefined) return "expected float";
      return check === "nonneg_float" && n < 0 ? "value must be at least 0" : undefined;
    }
  }
  const n = pythonInt(value);
  if (n === undefined) return "expected int";
  const [min, max] = check.intRange;
  if (n < min) return `value must be at least ${min}`;
  return n > max ? `value must be at most ${max}` : undefined;
}

/** Python `int(text)`: optional sign, digits with single underscores, surrounding whitespace. */
export function pythonInt(text: string): number | undefined {
  const match = /^\s*([+-]?\d(?:_?\d)*)\s*$/.exec(text);
  return match ? Number(match[1]!.replaceAll("_", "")) : undefined;
}

function pythonFloat(text: string): number | undefined {
  const t = text.trim().replaceAll("_", "");
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return Number.NaN;
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : undefined;
}

function fail(message: string, path: readonly string[]): never {
  const where = path.map((p) => `[${pyRepr(p)}]`).join("");
  throw configError(`${message} @ data${where}`);
}
