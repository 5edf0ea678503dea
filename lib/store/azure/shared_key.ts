import type { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";

/** The standard headers of the SharedKey string-to-sign, in order (REST "Authorize with Shared Key"). */
const STANDARD = [
  "content-encoding",
  "content-language",
  "content-length",
  "content-md5",
  "content-type",
  "date",
  "if-modified-since",
  "if-match",
  "if-none-match",
  "if-unmodified-since",
  "range",
] as const;

/**
 * The `Authorization: SharedKey <account>:<signature>` value of a request.
 * `headers` must already hold everything that will be sent (x-ms-date,
 * x-ms-version, Content-Length, Content-Type…); `url` is the URL exactly as
 * fetched (its percent-encoded path is the canonical resource).
 */
export function sharedKeyAuthorization(
  method: string,
  url: URL,
  headers: Headers,
  account: string,
  key: Buffer,
): string {
  const standard = STANDARD.map((name) => {
    const value = headers.get(name) ?? "";
    // Since version 2015-02-21 a zero Content-Length is signed as an empty string.
    return name === "content-length" && value === "0" ? "" : value;
  });
  const canonicalHeaders = [...headers.entries()]
    .filter(([name]) => name.toLowerCase().startsWith("x-ms-"))
    .map(([name, value]) => [name.toLowerCase(), value.replace(/\s+/g, " ").trim()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value}\n`)
    .join("");
  const stringToSign = `${method.toUpperCase()}\n${standard.join("\n")}\n` +
    canonicalHeaders + canonicalResource(url, account);
  const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("base64");
  return `SharedKey ${account}:${signature}`;
}

/** `/<account><path>` then `\n<name>:<decoded values, sorted, comma-joined>` per query name, sorted. */
function canonicalResource(url: URL, account: string): string {
  const params = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    const lower = name.toLowerCase();
    params.set(lower, [...(params.get(lower) ?? []), value]);
  }
  const query = [...params.keys()].sort().map((name) =>
    `\n${name}:${params.get(name)!.sort().join(",")}`
  ).join("");
  return `/${account}${url.pathname === "" ? "/" : url.pathname}${query}`;
}
