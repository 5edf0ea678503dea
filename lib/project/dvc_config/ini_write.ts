import { classifySection, type NamedKind } from "./config_data.ts";
import { configError } from "./errors.ts";
import { parseIni } from "./ini_parse.ts";
import { quoteValue, sectionHeader } from "./ini_quote.ts";
import type { IniDocument, IniSection, IniValue } from "./ini_types.ts";

/** A section as DVC addresses it: `core`, or the remote/machine/db called `name`. */
export type SectionRef =
  | { readonly kind: "plain"; readonly name: string }
  | { readonly kind: NamedKind; readonly name: string };

/** The indentation DVC (configobj) writes keys with. */
const INDENT = "    ";

/** A line range to replace, bottom-up application keeps indices valid. */
interface Splice {
  start: number;
  deleteCount: number;
  insert: string[];
}

/**
 * Sets `key` in the section `ref`, creating the section where DVC would put
 * it. An existing key keeps its place, indentation and inline comment; every
 * other line stays byte-for-byte.
 */
export function setEntry(
  text: string,
  file: string,
  ref: SectionRef,
  key: string,
  value: IniValue,
): string {
  refuseInterpolation(key, value);
  const doc = parseIni(text, file);
  const lowerKey = key.toLowerCase();
  const section = findSections(doc, ref).at(-1);
  if (!section) {
    const at = newSectionPosition(doc, ref.kind);
    const header = sectionHeader(sectionName(ref));
    return render(doc, [{
      start: at,
      deleteCount: 0,
      insert: [header, ...entryLines(INDENT, key, value, "")],
    }]);
  }
  const existing = section.entries.filter((e) => e.key.toLowerCase() === lowerKey).at(-1);
  if (existing) {
    return render(doc, [{
      start: existing.line,
      deleteCount: existing.endLine - existing.line + 1,
      insert: entryLines(existing.indent, key, value, existing.comment),
    }]);
  }
  const indent = section.entries.at(-1)?.indent ?? `${section.indent}${INDENT}`;
  return render(doc, [{
    start: section.lastLine + 1,
    deleteCount: 0,
    insert: entryLines(indent, key, value, ""),
  }]);
}

/**
 * Removes `key` from every section matching `ref`. A plain section left
 * empty is dropped, as DVC drops empty sections; named ones stay.
 */
export function removeEntry(text: string, file: string, ref: SectionRef, key: string): string {
  const doc = parseIni(text, file);
  const lowerKey = key.toLowerCase();
  const splices: Splice[] = [];
  for (const section of findSections(doc, ref)) {
    const doomed = section.entries.filter((e) => e.key.toLowerCase() === lowerKey);
    if (doomed.length === 0) continue;
    for (const entry of doomed) {
      splices.push({ start: entry.line, deleteCount: entry.endLine - entry.line + 1, insert: [] });
    }
    const emptied = doomed.length === section.entries.length && section.sections.length === 0;
    if (emptied && ref.kind === "plain") {
      splices.push({ start: section.line, deleteCount: 1, insert: [] });
    }
  }
  return render(doc, splices);
}

/** Removes every section matching `ref`: its header, keys and the lines between them. */
export function removeSection(text: string, file: string, ref: SectionRef): string {
  const doc = parseIni(text, file);
  const splices = findSections(doc, ref).map((section) => ({
    start: section.line,
    deleteCount: extentOf(section) - section.line + 1,
    insert: [],
  }));
  return render(doc, splices);
}

/** Removes every key of the section `ref` (keeping its header); the section is created if missing. */
export function clearSection(text: string, file: string, ref: SectionRef): string {
  const doc = parseIni(text, file);
  const sections = findSections(doc, ref);
  const last = sections.at(-1);
  if (!last) {
    const at = newSectionPosition(doc, ref.kind);
    return render(doc, [{ start: at, deleteCount: 0, insert: [sectionHeader(sectionName(ref))] }]);
  }
  const splices: Splice[] = sections.slice(0, -1).map((section) => ({
    start: section.line,
    deleteCount: extentOf(section) - section.line + 1,
    insert: [],
  }));
  splices.push({ start: last.line + 1, deleteCount: extentOf(last) - last.line, insert: [] });
  return render(doc, splices);
}

/** Renames the named section `ref` to `newName` in place (other spellings of it are dropped). */
export function renameSection(
  text: string,
  file: string,
  ref: SectionRef & { kind: NamedKind },
  newName: string,
): string {
  const doc = parseIni(text, file);
  const sections = findSections(doc, ref);
  const last = sections.at(-1);
  if (!last) return text;
  const splices: Splice[] = sections.slice(0, -1).map((section) => ({
    start: section.line,
    deleteCount: extentOf(section) - section.line + 1,
    insert: [],
  }));
  const header = sectionHeader(sectionName({ kind: ref.kind, name: newName }), last.indent);
  splices.push({ start: last.line, deleteCount: 1, insert: [header + last.comment] });
  return render(doc, splices);
}

/** The sections of `doc` that DVC would read as `ref` (case-insensitive), in file order. */
export function findSections(doc: IniDocument, ref: SectionRef): IniSection[] {
  const wanted = ref.name.toLowerCase();
  return doc.root.sections.filter((section) => {
    const where = classifySection(section.name.toLowerCase());
    return where.kind === ref.kind && where.name === wanted;
  });
}

function sectionName(ref: SectionRef): string {
  return ref.kind === "plain" ? ref.name : `${ref.kind} "${ref.name}"`;
}

function entryLines(indent: string, key: string, value: IniValue, comment: string): string[] {
  return `${indent}${quoteValue(key, false)} = ${quoteValue(value)}${comment}`.split("\n");
}

// configobj has no escape for `%(name)s`: such a value would come back as an
// interpolation (or an error), so it must not be written.
function refuseInterpolation(key: string, value: IniValue): void {
  const values = typeof value === "string" ? [value] : value;
  const bad = values.find((v) => /%\([^)]*\)s/.test(v));
  if (bad !== undefined) {
    throw configError(
      `the value of '${key}' cannot be stored: DVC would read '%(…)s' in it as an interpolation`,
    );
  }
}

/** Last line of a section including its subsections. */
function extentOf(section: IniSection): number {
  return Math.max(section.lastLine, ...section.sections.map(extentOf));
}

/**
 * Where DVC's writer would put a new section: plain sections before the
 * remote/machine/db ones, a remote after the last remote (machines after
 * remotes, dbs last); else at the end of the file.
 */
function newSectionPosition(doc: IniDocument, kind: SectionRef["kind"]): number {
  const order: readonly string[] = ["plain", "remote", "machine", "db"];
  const rank = (section: IniSection) =>
    order.indexOf(classifySection(section.name.toLowerCase()).kind);
  const mine = order.indexOf(kind);
  const sections = doc.root.sections;
  if (kind !== "plain") {
    const lastSame = sections.filter((s) => rank(s) === mine).at(-1);
    if (lastSame) return extentOf(lastSame) + 1;
  }
  const later = sections.find((s) => rank(s) > mine);
  return later ? aboveComments(doc, later) : doc.lines.length;
}

/** The header line of `section`, moved up over the comment lines directly above it. */
function aboveComments(doc: IniDocument, section: IniSection): number {
  let at = section.line;
  while (at > 0 && doc.lines[at - 1]!.trim().startsWith("#")) at--;
  return at;
}

/** Applies splices (any order) and joins the lines back with their own terminators. */
function render(doc: IniDocument, splices: Splice[]): string {
  if (splices.length === 0) return serialize(doc.lines, doc.terminators, doc.bom);
  const lines = [...doc.lines];
  const terminators = [...doc.terminators];
  const sorted = [...splices].sort((a, b) => b.start - a.start);
  for (const { start, deleteCount, insert } of sorted) {
    if (insert.length > 0 && start > 0 && start === lines.length && terminators[start - 1] === "") {
      terminators[start - 1] = doc.newline;
    }
    lines.splice(start, deleteCount, ...insert);
    terminators.splice(start, deleteCount, ...insert.map(() => doc.newline));
  }
  const text = serialize(lines, terminators, doc.bom);
  // configobj always ends a written file with a newline, even an empty one.
  return text === "" || text === "\ufeff" ? `${text}${doc.newline}` : text;
}

function serialize(lines: readonly string[], terminators: readonly string[], bom: boolean): string {
  let text = bom ? "\ufeff" : "";
  lines.forEach((line, i) => {
    text += line + (terminators[i] ?? "");
  });
  return text;
}
