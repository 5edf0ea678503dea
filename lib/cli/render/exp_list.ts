import type { ExpListEntry } from "../../engine/exp/list.ts";

export type ExpListFormat = "default" | "name-only" | "sha-only" | "json";

/**
 * Renders `exp list` as DVC does (spec §2.4): `<label>:` headers, then
 * `\t<sha7> [<name>]` locally or `\t<name>` for a remote.
 */
export function renderExpList(
  entries: readonly ExpListEntry[],
  format: ExpListFormat,
  remote: boolean,
): string {
  if (format === "json") return `${JSON.stringify(entries, null, 2)}\n`;
  if (format === "name-only") return entries.map((e) => `${e.name}\n`).join("");
  if (format === "sha-only") return entries.map((e) => `${e.sha}\n`).join("");
  let text = "";
  let current: string | undefined;
  for (const entry of entries) {
    if (entry.baseline !== current) {
      current = entry.baseline;
      text += `${entry.label}:\n`;
    }
    text += remote || entry.sha === null
      ? `\t${entry.name}\n`
      : `\t${entry.sha.slice(0, 7)} [${entry.name}]\n`;
  }
  return text;
}
