import type { ExpShowCell, ExpShowRow, ExpShowTable } from "../../engine/exp/show_table.ts";
import { displayWidth, formatCreated, isoLocal, pad, truncate } from "./exp_show_text.ts";

export type ExpShowFormat = "table" | "md" | "csv";

export interface ExpShowRenderOptions {
  /** Terminal width to fit the table into; `undefined`: no limit (output is not a terminal). */
  readonly width?: number;
  /** ANSI bold for the header and baseline rows. */
  readonly color?: boolean;
  /** "Today" for the `Created` column. */
  readonly now?: Date;
}

interface Col {
  header: string;
  align: "left" | "right";
  /** May be narrowed (with `…`) to fit the terminal. */
  shrink: boolean;
  cells: string[];
}

const MIN_WIDTH = 5;
const EXPERIMENT_MIN = 24;
const RULE = "─";

/**
 * Renders the `exp show` table: DVC's layout (`Experiment`, `Created`,
 * metrics right-aligned, params left-aligned, `─` rules, experiments drawn
 * with `├──`/`└──` under their baseline), as Markdown (`--md`), or as CSV with
 * DVC's columns (`--csv`: raw values, ISO times, empty cells).
 */
export function renderExpShow(
  table: ExpShowTable,
  format: ExpShowFormat,
  options: ExpShowRenderOptions = {},
): string {
  if (format === "csv") return renderCsv(table);
  const now = options.now ?? new Date();
  const cols: Col[] = [{
    header: "Experiment",
    align: "left",
    shrink: false,
    cells: table.rows.map(experimentId),
  }];
  if (table.created) {
    cols.push({
      header: "Created",
      align: "left",
      shrink: false,
      cells: table.rows.map((r) => (r.timestamp === null ? "-" : formatCreated(r.timestamp, now))),
    });
  }
  table.columns.forEach((column, index) => {
    cols.push({
      header: column.header,
      align: column.kind === "metric" && format === "table" ? "right" : "left",
      shrink: true,
      cells: table.rows.map((r) => cellText(r.cells[index]!, "-")),
    });
  });
  return format === "md" ? renderMarkdown(cols) : renderTable(cols, table.rows, options);
}

/** DVC's experiment id: the baseline's name (or short SHA), `sha7 [name]` under it. */
function experimentId(row: ExpShowRow): string {
  if (row.kind === "workspace") return "workspace";
  if (row.kind === "baseline") return row.name ?? row.rev.slice(0, 7);
  return `${row.last ? "└──" : "├──"} ${row.rev.slice(0, 7)} [${row.name ?? ""}]`;
}

function cellText(cell: ExpShowCell, fill: string): string {
  if ("text" in cell) return cell.text.replace(/[\r\n\t]+/g, " ");
  return cell.missing === "error" ? "!" : fill;
}

function renderTable(cols: Col[], rows: readonly ExpShowRow[], options: ExpShowRenderOptions) {
  const natural = (c: Col) => Math.max(displayWidth(c.header), ...c.cells.map(displayWidth));
  let widths = cols.map(natural);
  let hidden = 0;
  if (options.width !== undefined) {
    const limit = options.width;
    // Line length without its trailing space: edge + (pad, cell, pad) per column + separators.
    const total = (ws: readonly number[]) => ws.reduce((a, b) => a + b, 0) + 3 * ws.length;
    const narrowest = (ws: readonly number[]) =>
      ws.map((w, i) => (cols[i]!.shrink ? Math.min(w, MIN_WIDTH) : w));
    // Give up `Created` first, then value columns from the right, until the
    // rest fits once the widest value columns are narrowed (with `…`).
    while (cols.length > 1 && total(narrowest(widths)) > limit) {
      const index = cols[1]!.header === "Created" && !cols[1]!.shrink ? 1 : cols.length - 1;
      cols = cols.filter((_, i) => i !== index);
      widths = widths.filter((_, i) => i !== index);
      hidden++;
    }
    while (total(widths) > limit) {
      const widest = widestShrinkable(cols, widths);
      if (widest >= 0) widths[widest]!--;
      else if (widths[0]! > EXPERIMENT_MIN) widths[0]!--;
      else break;
    }
  }
  const bold = (text: string) => (options.color ? `\x1b[1m${text}\x1b[0m` : text);
  // A rich "horizontals" box: edge space, one space of padding, one space between columns.
  const line = (cells: string[]) => {
    const padded = cells.map((text, i) =>
      pad(truncate(text, widths[i]!), widths[i]!, cols[i]!.align)
    );
    return `  ${padded.join("   ")}`.trimEnd();
  };
  const rule = ` ${RULE.repeat(widths.reduce((a, b) => a + b + 3, -1))}`;
  const out = [rule, bold(line(cols.map((c) => c.header))), rule];
  rows.forEach((row, r) => {
    const text = line(cols.map((c) => c.cells[r]!));
    out.push(row.kind === "baseline" ? bold(text) : text);
  });
  out.push(rule);
  if (hidden > 0) {
    const s = hidden === 1 ? "" : "s";
    const hint =
      `(${hidden} column${s} hidden to fit the terminal: try --drop, --only-changed or --csv)`;
    out.push(displayWidth(hint) <= (options.width ?? Infinity) ? hint : `(${hidden} hidden)`);
  }
  return `${out.join("\n")}\n`;
}

function widestShrinkable(cols: readonly Col[], widths: readonly number[]): number {
  let widest = -1;
  cols.forEach((c, i) => {
    if (c.shrink && widths[i]! > MIN_WIDTH && (widest < 0 || widths[i]! > widths[widest]!)) {
      widest = i;
    }
  });
  return widest;
}

/** GitHub-flavoured Markdown, as DVC's `--md` (every column left-aligned). */
function renderMarkdown(cols: readonly Col[]): string {
  const escape = (text: string) => text.replaceAll("|", "\\|");
  const texts = cols.map((c) => ({ header: escape(c.header), cells: c.cells.map(escape) }));
  const widths = texts.map((c) => Math.max(displayWidth(c.header), ...c.cells.map(displayWidth)));
  const line = (cells: string[]) =>
    `| ${cells.map((text, i) => pad(text, widths[i]!, "left")).join(" | ")} |`;
  const out = [
    line(texts.map((c) => c.header)),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
  ];
  const count = texts[0]?.cells.length ?? 0;
  for (let r = 0; r < count; r++) out.push(line(texts.map((c) => c.cells[r]!)));
  return `${out.join("\n")}\n`;
}

/** DVC's CSV: `Experiment,rev,typ,Created,parent`, then the value columns; CRLF lines as Python's csv. */
function renderCsv(table: ExpShowTable): string {
  const header = ["Experiment", "rev", "typ", ...(table.created ? ["Created"] : []), "parent"];
  header.push(...table.columns.map((c) => c.header));
  const lines = [header];
  for (const row of table.rows) {
    const isExp = row.kind === "experiment";
    const rev = row.kind === "workspace" ? "workspace" : row.rev.slice(0, 7);
    const fields = [
      isExp ? row.name ?? "" : "",
      isExp ? rev : row.name ?? rev,
      isExp ? (row.last ? "branch_base" : "branch_commit") : "baseline",
    ];
    if (table.created) fields.push(row.timestamp === null ? "" : isoLocal(row.timestamp));
    fields.push("");
    for (const cell of row.cells) {
      fields.push("text" in cell ? cell.text : cell.missing === "error" ? "!" : "");
    }
    lines.push(fields);
  }
  return lines.map((fields) => `${fields.map(csvField).join(",")}\r\n`).join("");
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
