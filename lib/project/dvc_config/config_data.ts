import { configError } from "./errors.ts";
import type { IniDocument, IniSection, IniValue } from "./ini_types.ts";

/** A value with the file it came from (relative paths resolve against that file's folder). */
export interface Sourced {
  readonly value: IniValue;
  /** The config file that set it. */
  readonly file: string;
  /** Folder relative paths in this value are resolved against. */
  readonly baseDir: string;
  /** 1-based line of the key. */
  readonly line: number;
}

/** The keys of one section, lower-cased, in file order. */
export type SectionData = Map<string, Sourced>;

/** Sections DVC names with a quoted name: `['remote "x"']`. */
export type NamedKind = "remote" | "machine" | "db";
export const NAMED_KINDS: readonly NamedKind[] = ["remote", "machine", "db"];

/** Something the schema refuses whatever its value (a top-level key, a subsection). */
export interface Misplaced {
  readonly path: readonly string[];
  readonly isSection: boolean;
}

/** One config file, or several merged, as DVC sees it after lower-casing. */
export interface ConfigData {
  readonly sections: Map<string, SectionData>;
  readonly named: Record<NamedKind, Map<string, SectionData>>;
  readonly misplaced: Misplaced[];
}

/** An empty config. */
export function emptyConfigData(): ConfigData {
  return {
    sections: new Map(),
    named: { remote: new Map(), machine: new Map(), db: new Map() },
    misplaced: [],
  };
}

// DVC's `_parse_named`, applied after lower-casing.
const NAMED_SECTION = /^\s*(remote|machine|db)\s*"(.*)"\s*$/;

/** Splits a lower-cased section name into a named section or a plain one. */
export function classifySection(
  lowerName: string,
): { kind: NamedKind; name: string } | { kind: "plain"; name: string } {
  const match = NAMED_SECTION.exec(lowerName);
  if (match) return { kind: match[1] as NamedKind, name: match[2] ?? "" };
  return { kind: "plain", name: lowerName };
}

/**
 * Turns a parsed file into DVC's view of it: values interpolated
 * (`%(name)s`), keys and section names lower-cased (a later spelling of the
 * same key wins, as in DVC), `remote "x"` sections grouped by name.
 * `baseDir` is where relative paths in this file point from.
 */
export function configDataOf(doc: IniDocument, baseDir: string): ConfigData {
  const data = emptyConfigData();
  const interpolate = interpolator(doc);
  for (const entry of doc.root.entries) {
    data.misplaced.push({ path: [entry.key.toLowerCase()], isSection: false });
  }
  for (const section of doc.root.sections) {
    const lower = section.name.toLowerCase();
    const target = new Map<string, Sourced>();
    for (const entry of section.entries) {
      const value = interpolate(section, entry.key, entry.value);
      target.set(entry.key.toLowerCase(), {
        value,
        file: doc.file,
        baseDir,
        line: entry.line + 1,
      });
    }
    const where = classifySection(lower);
    const path = where.kind === "plain" ? [lower] : [where.kind, where.name];
    for (const sub of section.sections) {
      data.misplaced.push({ path: [...path, sub.name.toLowerCase()], isSection: true });
    }
    if (where.kind === "plain") {
      if ((NAMED_KINDS as readonly string[]).includes(lower)) {
        for (const key of target.keys()) {
          data.misplaced.push({ path: [lower, key], isSection: false });
        }
        continue;
      }
      data.sections.set(lower, target);
    } else {
      data.named[where.kind].set(where.name, target);
    }
  }
  return data;
}

/** DVC's `merge`: `update` wins key by key, sections and named sections merge deeply. */
export function mergeConfigData(into: ConfigData, update: ConfigData): ConfigData {
  for (const [name, section] of update.sections) mergeSection(into.sections, name, section);
  for (const kind of NAMED_KINDS) {
    for (const [name, section] of update.named[kind]) mergeSection(into.named[kind], name, section);
  }
  into.misplaced.push(...update.misplaced);
  return into;
}

function mergeSection(into: Map<string, SectionData>, name: string, section: SectionData): void {
  const existing = into.get(name);
  if (!existing) {
    into.set(name, new Map(section));
    return;
  }
  for (const [key, value] of section) existing.set(key, value);
}

/**
 * configobj's ConfigParser-style interpolation: `%(name)s` is replaced by
 * `name` from the same section, its `DEFAULT` subsection, then the top level
 * and its `DEFAULT` section; recursive, with loop detection.
 */
function interpolator(doc: IniDocument) {
  // configobj's InterpolationError wording (it names no line).
  const fail = (what: string): never => {
    throw configError(`${what}.`, { file: doc.file });
  };
  const parentOf = (section: IniSection): IniSection | undefined =>
    section === doc.root ? undefined : doc.root;

  const fetch = (section: IniSection, name: string) => {
    for (let at: IniSection | undefined = section; at; at = parentOf(at)) {
      const own = at.entries.find((e) => e.key === name);
      if (own) return { value: own.value, at };
      const defaults = at.sections.find((s) => s.name === "DEFAULT");
      const fallback = defaults?.entries.find((e) => e.key === name);
      if (fallback) return { value: fallback.value, at };
    }
    return fail(`missing option "${name}" in interpolation`);
  };

  const expand = (
    key: string,
    value: string,
    section: IniSection,
    trail: Set<string>,
  ): string => {
    if (!value.includes("%")) return value;
    const mark = `${key}\u0000${section.name}`;
    if (trail.has(mark)) fail(`interpolation loop detected in value "${key}"`);
    trail.add(mark);
    const pattern = /%\(([^)]*)\)s/g;
    let result = value;
    for (let match = pattern.exec(result); match; match = pattern.exec(result)) {
      const name = match[1] ?? "";
      const found = fetch(section, name);
      if (typeof found.value !== "string") {
        fail(`cannot interpolate the list value of "${name}"`);
      }
      const replacement = expand(name, found.value as string, found.at, trail);
      result = result.slice(0, match.index) + replacement +
        result.slice(match.index + match[0].length);
      pattern.lastIndex = match.index + replacement.length;
    }
    trail.delete(mark);
    return result;
  };

  return (section: IniSection, key: string, value: IniValue): IniValue =>
    typeof value === "string"
      ? expand(key, value, section, new Set())
      : value.map((item) => expand(key, item, section, new Set()));
}
