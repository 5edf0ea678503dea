/** Terminal text helpers for the `exp show` table: display width, truncation, dates. */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Columns a string takes on a terminal: wide (CJK, emoji) 2, combining marks 0, else 1. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0)!);
  return width;
}

function charWidth(code: number): number {
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return 0;
  if (
    (code >= 0x300 && code <= 0x36f) || (code >= 0x200b && code <= 0x200f) ||
    (code >= 0xfe00 && code <= 0xfe0f)
  ) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) return 2;
  return 1;
}

/** Cuts `text` to at most `width` columns, ending in `…` when something was cut. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  for (const ch of text) {
    const w = charWidth(ch.codePointAt(0)!);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}…`;
}

/** Pads to `width` columns on the right (`left` alignment) or on the left. */
export function pad(text: string, width: number, align: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, width - displayWidth(text)));
  return align === "left" ? text + fill : fill + text;
}

/**
 * DVC's `Created` cell: `%I:%M %p` for a commit made today, else
 * `%b %d, %Y` (local time, as Python's `datetime.fromtimestamp`).
 */
export function formatCreated(timestamp: number, now: Date): string {
  const d = new Date(timestamp * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  if (
    d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate()
  ) {
    const hour = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
    return `${two(hour)}:${two(d.getMinutes())} ${d.getHours() < 12 ? "AM" : "PM"}`;
  }
  return `${MONTHS[d.getMonth()]} ${two(d.getDate())}, ${d.getFullYear()}`;
}

/** Python's naive `datetime.fromtimestamp(t).isoformat()` (local time, no offset), as DVC's CSV. */
export function isoLocal(timestamp: number): string {
  const d = new Date(timestamp * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${
    two(d.getMinutes())
  }:${two(d.getSeconds())}`;
}

/** ISO 8601 local time with its UTC offset (`2024-01-02T00:00:00+00:00`), for `--json`. */
export function isoWithOffset(timestamp: number): string {
  const d = new Date(timestamp * 1000);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${isoLocal(timestamp)}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}
