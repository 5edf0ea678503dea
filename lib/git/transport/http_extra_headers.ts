/**
 * git's `http.extraHeader` / `http.<url>.extraHeader`: headers added to every
 * request to the remote. CI checkouts rely on it — GitHub's checkout action
 * stores `AUTHORIZATION: basic …` under `http.https://github.com/.extraheader`
 * in the repository config instead of a credential helper.
 */
import type { TransportOptions } from "./types.ts";

/**
 * The extra headers for requests to `base` (a URL without user info), from
 * the general key to the most specific one so a specific value wins. An empty
 * value clears what came before, as in git. Lines without "Name: value" are
 * ignored.
 */
export function extraHeadersFor(
  base: URL,
  gitConfig: TransportOptions["gitConfig"],
): Record<string, string> {
  const href = base.href.replace(/\/+$/, "");
  const keys = [
    "http.extraheader",
    `http.${base.origin}.extraheader`,
    `http.${base.origin}/.extraheader`,
    `http.${href}.extraheader`,
    `http.${href}/.extraheader`,
  ];
  const headers = new Map<string, [string, string]>();
  for (const key of new Set(keys)) {
    const value = gitConfig(key);
    if (value === undefined) continue;
    if (value.trim() === "") {
      headers.clear();
      continue;
    }
    const colon = value.indexOf(":");
    if (colon <= 0) continue;
    const name = value.slice(0, colon).trim();
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) continue;
    headers.set(name.toLowerCase(), [name, value.slice(colon + 1).trim()]);
  }
  return Object.fromEntries(headers.values());
}
