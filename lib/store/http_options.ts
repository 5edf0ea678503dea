import { Buffer } from "node:buffer";
import { ConfigError } from "../errors/mod.ts";
import { redactUrl } from "../util/redact.ts";
import type { HttpLimits } from "./http_fetch.ts";
import { parseBool, parseSeconds, parseTls } from "./http_values.ts";
import { percentDecode } from "../util/percent.ts";

/** An HTTP(S) remote's DVC section (spec §5.6), checked. */
export interface HttpRemoteConfig {
  /** Base URL without credentials, without a trailing `/`, query kept apart. */
  readonly base: string;
  /** `?query` of the remote URL ("" when none), appended to every object URL. */
  readonly query: string;
  /** The remote URL with its password (and any query string) masked. */
  readonly displayUrl: string;
  /** displayUrl without the query string: object locations in messages are `<displayBase>/<key>`. */
  readonly displayBase: string;
  /** Upload method: POST (DVC's default) or PUT. */
  readonly method: "POST" | "PUT";
  /** Authorization headers sent with every request. */
  readonly authHeaders: Readonly<Record<string, string>>;
  readonly limits: HttpLimits;
}

/** Reads `http(s)://…` and the section options; throws ConfigError on bad values. */
export function parseHttpRemote(
  url: string,
  options: Readonly<Record<string, string>>,
): HttpRemoteConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`HTTP remote URL '${redactUrl(url)}' is not a URL.`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigError(
      `HTTP remote URL '${redactUrl(url)}' must start with http:// or https://.`,
    );
  }
  const withoutQuery = new URL(parsed.href);
  withoutQuery.search = "";
  withoutQuery.hash = "";
  const displayBase = redactUrl(withoutQuery.toString().replace(/\/+$/, ""));
  // a query string may hold an access token
  const displayUrl = parsed.search === "" ? displayBase : `${displayBase}?***`;
  const opt = (name: string) => {
    const value = options[name];
    return value === undefined || value === "" ? undefined : value;
  };
  // fetch refuses URLs with credentials: take them out and send them as Basic auth.
  const urlUser = percentDecode(parsed.username);
  const urlPassword = percentDecode(parsed.password);
  parsed.username = "";
  parsed.password = "";
  const query = parsed.search;
  parsed.search = "";
  parsed.hash = "";
  const base = parsed.toString().replace(/\/+$/, "");

  const method = (opt("method") ?? "POST").toUpperCase();
  if (method !== "POST" && method !== "PUT") {
    throw new ConfigError(
      `method of remote '${displayUrl}' must be POST or PUT, not '${opt("method")}'.`,
    );
  }
  const user = opt("user") ?? (urlUser || undefined);
  const password = opt("password") ?? (urlPassword || undefined);
  if (parseBool(opt("ask_password"), false, "ask_password", displayUrl) && password === undefined) {
    throw new ConfigError(
      `Remote '${displayUrl}' asks for a password interactively, which dxp cannot do: set it with ` +
        "'dxp remote modify --local <name> password <password>'.",
    );
  }
  const authHeaders: Record<string, string> = {};
  const auth = opt("auth") ?? (user !== undefined ? "basic" : undefined);
  if (auth === "basic") {
    if (user === undefined) {
      throw new ConfigError(`Remote '${displayUrl}' uses basic auth but has no 'user'.`);
    }
    authHeaders["authorization"] = "Basic " +
      Buffer.from(`${user}:${password ?? ""}`, "utf8").toString("base64");
  } else if (auth === "custom") {
    const header = opt("custom_auth_header");
    if (header === undefined || password === undefined) {
      throw new ConfigError(
        `Remote '${displayUrl}' uses custom auth: set 'custom_auth_header' and 'password'.`,
      );
    }
    authHeaders[header.toLowerCase()] = password;
  } else if (auth !== undefined) {
    throw new ConfigError(
      `auth '${auth}' of remote '${displayUrl}' is not supported: use 'basic' or 'custom'.`,
    );
  }
  return {
    base,
    query,
    displayUrl,
    displayBase,
    method,
    authHeaders,
    limits: {
      connectTimeoutMs: parseSeconds(opt("connect_timeout"), 60, "connect_timeout", displayUrl),
      readTimeoutMs: parseSeconds(opt("read_timeout"), 60, "read_timeout", displayUrl),
      tls: parseTls(opt("ssl_verify"), undefined, displayUrl),
    },
  };
}
