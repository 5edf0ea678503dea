import { ConfigError, InvalidArgumentError } from "../errors/mod.ts";

/** ssl_verify as requests see it. */
export interface TlsSettings {
  readonly rejectUnauthorized: boolean;
  readonly caFile?: string;
}

/** configobj's boolean spellings. */
export function parseBool(
  value: string | undefined,
  fallback: boolean,
  name: string,
  where: string,
): boolean {
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (["true", "yes", "on", "1"].includes(lower)) return true;
  if (["false", "no", "off", "0"].includes(lower)) return false;
  throw new ConfigError(`${name} of remote '${where}' must be true or false, not '${value}'.`);
}

/** Whole seconds → milliseconds; rejects anything that is not a positive number. */
export function parseSeconds(
  value: string | undefined,
  fallback: number,
  name: string,
  where: string,
): number {
  if (value === undefined) return fallback * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ConfigError(
      `${name} of remote '${where}' must be a number of seconds, not '${value}'.`,
    );
  }
  return Math.round(seconds * 1000);
}

/** `ssl_verify`: true (default, then AWS_CA_BUNDLE if set), false, or a CA bundle path. */
export function parseTls(
  value: string | undefined,
  caBundle: string | undefined,
  where: string,
): TlsSettings | undefined {
  if (value !== undefined && !/^(true|false|yes|no|on|off|1|0)$/i.test(value)) {
    return { rejectUnauthorized: true, caFile: value };
  }
  if (!parseBool(value, true, "ssl_verify", where)) return { rejectUnauthorized: false };
  return caBundle === undefined ? undefined : { rejectUnauthorized: true, caFile: caBundle };
}

/**
 * Percent-encodes every byte outside RFC 3986's unreserved set, so the path
 * on the wire is exactly the canonical path SigV4 signs (aws4fetch decodes and
 * re-encodes S3 paths the same way).
 */
export function strictEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** A `/`-separated key as a URL path, each segment strictly encoded. */
export function encodeKey(key: string): string {
  return key.split("/").map(strictEncode).join("/");
}

/**
 * Keys are remote-relative `/`-separated paths; `.`/`..` segments would be
 * folded away by URL parsing and address another object.
 */
export function checkKey(key: string): void {
  if (
    key === "" || key.startsWith("/") || key.includes("\0") ||
    key.split("/").some((part) => part === "." || part === "..")
  ) {
    throw new InvalidArgumentError(`'${key}' is not a valid object key.`);
  }
}
