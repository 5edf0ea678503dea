/**
 * Renders a string the way Python's `repr()` does for the common case, which
 * is how DVC quotes values in its messages: single quotes unless the text
 * holds a single quote and no double quote.
 */
export function pyRepr(text: string): string {
  const useDouble = text.includes("'") && !text.includes('"');
  const quote = useDouble ? '"' : "'";
  let body = "";
  for (const ch of text) {
    if (ch === "\\") body += "\\\\";
    else if (ch === quote) body += `\\${quote}`;
    else if (ch === "\n") body += "\\n";
    else if (ch === "\r") body += "\\r";
    else if (ch === "\t") body += "\\t";
    else body += ch;
  }
  return `${quote}${body}${quote}`;
}

/**
 * Joins names as DVC's `humanize.join` does: `a`, `a and b`, `a, b and c`
 * (no Oxford comma).
 */
export function humanJoin(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
