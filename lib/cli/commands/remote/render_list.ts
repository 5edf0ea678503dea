import type { RemoteListEntry } from "../../../engine/remote.ts";

/**
 * `dvc remote list` output: `name<TAB>url[<TAB>(default)]` per remote. DVC
 * prints it through rich, which expands the tabs to 8-column stops, so the
 * same expansion is applied here (rich's wrapping at 80 columns is not).
 */
export function renderRemoteList(entries: readonly RemoteListEntry[]): string {
  return entries
    .map((e) => expandTabs(e.isDefault ? `${e.name}\t${e.url}\t(default)` : `${e.name}\t${e.url}`))
    .map((line) => `${line}\n`)
    .join("");
}

/** rich's `Text.expand_tabs`: each tab becomes a space, then pads to the next multiple of 8. */
export function expandTabs(line: string, size = 8): string {
  let out = "";
  for (const part of line.split(/(?<=\t)/)) {
    if (part.endsWith("\t")) {
      out += `${part.slice(0, -1)} `;
      const rest = out.length % size;
      if (rest) out += " ".repeat(size - rest);
    } else {
      out += part;
    }
  }
  return out;
}
