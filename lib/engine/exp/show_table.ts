import type { ValuesFile } from "../../dvc/metrics_params.ts";
import { InvalidArgumentError } from "../../errors/mod.ts";
import type { ExpShowResult, ExpShowRev } from "./show.ts";
import { formatValue } from "./show_format.ts";

/** A metrics or params column: one flattened key of one file. */
export interface ExpShowColumn {
  /** `key`, or `file:key` when the key appears in several files (as DVC names it). */
  readonly header: string;
  readonly kind: "metric" | "param";
  readonly file: string;
  /** Flattened key path, `.`-joined (`train.lr`). */
  readonly key: string;
}

/** A cell: its text, or why there is none (`fill`: no value, `error`: the file or revision failed). */
export type ExpShowCell = { readonly text: string; readonly value: unknown } | {
  readonly missing: "fill" | "error";
};

export interface ExpShowRow {
  readonly kind: "workspace" | "baseline" | "experiment";
  /** `"workspace"` or the full SHA. */
  readonly rev: string;
  /** Experiment name, baseline branch/tag, or `null`. */
  readonly name: string | null;
  readonly timestamp: number | null;
  /** For experiments: the last one under its baseline (drawn with `└──`). */
  readonly last: boolean;
  /** One cell per column of the table. */
  readonly cells: ExpShowCell[];
}

export interface ExpShowTable {
  readonly columns: ExpShowColumn[];
  readonly rows: ExpShowRow[];
  /** False when `--drop` removed the `Created` column. */
  readonly created: boolean;
}

export interface ExpShowTableOptions {
  /** `[file:]key` of a metric or param; sorts experiments within each baseline. */
  readonly sortBy?: string;
  readonly sortOrder?: "asc" | "desc";
  /** Keep only columns whose values differ between rows. */
  readonly onlyChanged?: boolean;
  /** Drop columns whose header matches (at its start, as Python's `re.match`). */
  readonly drop?: string;
  /** Never drop columns whose header matches, whatever `drop`/`onlyChanged` say. */
  readonly keep?: string;
  /** Significant digits of floats; `null`: Python's `repr`. */
  readonly precision: number | null;
}

/**
 * Turns `exp show` data into DVC's table: metrics columns then params
 * columns, keys in first-seen order across rows, headers disambiguated with
 * `file:` only where a key repeats; then sorting, `--only-changed`,
 * `--drop`/`--keep` as DVC applies them.
 */
export function expShowTable(result: ExpShowResult, options: ExpShowTableOptions): ExpShowTable {
  const keep = compile(options.keep, "--keep");
  const drop = compile(options.drop, "--drop");
  const revs: ExpShowRev[] = [result.workspace];
  for (const b of result.baselines) revs.push(b, ...b.experiments);
  let columns = collectColumns(revs);
  const cellsOf = (rev: ExpShowRev) => columns.map((c) => cell(rev, c, options.precision));

  const sortIndex = options.sortBy === undefined ? -1 : sortColumn(options.sortBy, columns);
  let rows: ExpShowRow[] = [row("workspace", result.workspace, null, false, cellsOf)];
  for (const baseline of result.baselines) {
    rows.push(row("baseline", baseline, baseline.name, false, cellsOf));
    const exps = baseline.experiments.map((e) => row("experiment", e, e.name, false, cellsOf));
    if (sortIndex >= 0) sortRows(exps, sortIndex, options.sortOrder === "desc");
    exps.forEach((exp, i) => rows.push({ ...exp, last: i === exps.length - 1 }));
  }

  const kept = (header: string) => keep?.test(header) ?? false;
  const dropIndex = new Set<number>();
  columns.forEach((column, index) => {
    if (kept(column.header)) return;
    if (drop?.test(column.header)) dropIndex.add(index);
    if (options.onlyChanged && new Set(rows.map((r) => cellKey(r.cells[index]!))).size <= 1) {
      dropIndex.add(index);
    }
  });
  if (dropIndex.size > 0) {
    columns = columns.filter((_, i) => !dropIndex.has(i));
    rows = rows.map((r) => ({ ...r, cells: r.cells.filter((_, i) => !dropIndex.has(i)) }));
  }
  const created = kept("Created") || !(drop?.test("Created") ?? false);
  return { columns, rows, created };
}

function row(
  kind: ExpShowRow["kind"],
  rev: ExpShowRev,
  name: string | null,
  last: boolean,
  cellsOf: (rev: ExpShowRev) => ExpShowCell[],
): ExpShowRow {
  return { kind, rev: rev.rev, name, timestamp: rev.timestamp, last, cells: cellsOf(rev) };
}

function collectColumns(revs: readonly ExpShowRev[]): ExpShowColumn[] {
  const found: { kind: "metric" | "param"; file: string; key: string }[] = [];
  const seen = new Set<string>();
  for (const kind of ["metric", "param"] as const) {
    for (const rev of revs) {
      for (const [file, values] of kind === "metric" ? rev.metrics : rev.params) {
        for (const key of flatKeys(values)) {
          const id = `${kind}\0${file}\0${key}`;
          if (seen.has(id)) continue;
          seen.add(id);
          found.push({ kind, file, key });
        }
      }
    }
  }
  // DVC's `_normalize_headers`: a key shared by several files (or equal to a fixed header) gets its file.
  const count = new Map<string, number>([["Experiment", 1], ["Created", 1]]);
  for (const c of found) count.set(c.key, (count.get(c.key) ?? 0) + 1);
  return found.map((c) => ({
    ...c,
    header: count.get(c.key) === 1 ? c.key : `${c.file}:${c.key}`,
  }));
}

function flatKeys(values: ValuesFile): string[] {
  return "data" in values ? [...flatten(values.data).keys()] : [];
}

/** DVC's `flatten`: nested mappings joined with `.`; lists are leaves; empty mappings vanish. */
function flatten(data: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (value: unknown, prefix: string) => {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const path = prefix === "" ? key : `${prefix}.${key}`;
      if (isMapping(child)) walk(child, path);
      else out.set(path, child);
    }
  };
  if (isMapping(data)) walk(data, "");
  return out;
}

function cell(rev: ExpShowRev, column: ExpShowColumn, precision: number | null): ExpShowCell {
  const values = (column.kind === "metric" ? rev.metrics : rev.params).get(column.file);
  if (values === undefined) return { missing: rev.errors.length > 0 ? "error" : "fill" };
  if (!("data" in values)) return { missing: "error" };
  const value = flatten(values.data).get(column.key);
  if (value === undefined || value === null) return { missing: "fill" };
  return { text: formatValue(value, precision), value };
}

function cellKey(cell: ExpShowCell): string {
  return "text" in cell ? `=${cell.text}` : `!${cell.missing}`;
}

/** DVC's `_sort_column`: `[file:]key` must name exactly one metric or param. */
function sortColumn(sortBy: string, columns: readonly ExpShowColumn[]): number {
  const colon = sortBy.lastIndexOf(":");
  const file = colon < 0 ? "" : sortBy.slice(0, colon);
  const key = sortBy.slice(colon + 1);
  const matches = columns.flatMap((
    c,
    i,
  ) => (c.key === key && (file === "" || c.file === file) ? [i] : []));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    const names = matches.map((i) => `${columns[i]!.file}:${key}`).join(", ");
    throw new InvalidArgumentError(`Ambiguous sort column '${sortBy}' matched '${names}'`);
  }
  throw new InvalidArgumentError(`Unknown sort column '${sortBy}'`);
}

/** Stable sort on one column; rows without a value always go last. */
function sortRows(rows: ExpShowRow[], index: number, descending: boolean): void {
  const sign = descending ? -1 : 1;
  rows.sort((a, b) => {
    const x = a.cells[index]!;
    const y = b.cells[index]!;
    if (!("text" in x) || !("text" in y)) return ("text" in x ? 0 : 1) - ("text" in y ? 0 : 1);
    return sign * compareValues(x.value, y.value);
  });
}

function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (typeof v === "number" || typeof v === "boolean" ? 0 : 1);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (rank(a) === 0) return Number(a) - Number(b);
  const x = formatValue(a, null);
  const y = formatValue(b, null);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compile(source: string | undefined, flag: string): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(`^(?:${source})`);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(`Invalid ${flag} pattern '${source}': ${why}.`);
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
