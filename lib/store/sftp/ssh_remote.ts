/**
 * A DVC `ssh://` remote section as what the ssh client needs: destination,
 * root path and the few options that map onto OpenSSH flags (spec §5.6).
 * Everything else (ProxyJump, certificates, ciphers…) comes from the user's
 * `~/.ssh/config`, because the system ssh reads it.
 */
import { ConfigError } from "../../errors/mod.ts";
import { redactUrl } from "../../util/redact.ts";

/** What {@link parseSshRemote} extracts from a remote section. */
export interface SshRemote {
  readonly host: string;
  /** From the `user` option, else the URL; undefined lets `~/.ssh/config` decide. */
  readonly user?: string;
  /** From the `port` option, else the URL; undefined lets `~/.ssh/config` decide. */
  readonly port?: number;
  /** The remote root folder, as given (absolute, or relative to the login folder). */
  readonly root: string;
  /** The URL as shown to users: no password. */
  readonly displayUrl: string;
  /** `user@host:port` as shown in connection errors. */
  readonly authTarget: string;
  readonly keyfile?: string;
  /** ConnectTimeout in seconds. */
  readonly connectTimeout?: number;
  readonly allowAgent: boolean;
  readonly gssAuth?: boolean;
  /** Answered to ssh's password prompt through SSH_ASKPASS; never written to disk. */
  readonly password?: string;
  /** Answered to ssh's key passphrase prompt the same way. */
  readonly passphrase?: string;
  /** SFTP sessions (ssh processes) at most; from `max_sessions`. */
  readonly maxSessions?: number;
}

/** configobj's boolean spellings. */
function bool(value: string | undefined, fallback: boolean, name: string, url: string): boolean {
  if (value === undefined || value === "") return fallback;
  const lower = value.toLowerCase();
  if (["true", "yes", "on", "1"].includes(lower)) return true;
  if (["false", "no", "off", "0"].includes(lower)) return false;
  throw new ConfigError(`${name} of remote '${url}' must be true or false, not '${value}'.`);
}

function positiveInt(
  value: string | undefined,
  name: string,
  url: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) {
    throw new ConfigError(
      `${name} of remote '${url}' must be a whole number from 1 to ${max}, not '${value}'.`,
    );
  }
  return number;
}

/**
 * Reads `ssh://[user[:password]@]host[:port]/path` and the section's options
 * (`user`, `port` win over the URL). Hosts and users that start with `-`
 * would be read by ssh as options and are refused here, before anything runs.
 */
export function parseSshRemote(url: string, options: Readonly<Record<string, string>>): SshRemote {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`The ssh remote URL '${redactUrl(url)}' is not a valid URL.`);
  }
  const displayUrl = redactUrl(url);
  if (parsed.protocol !== "ssh:") {
    throw new ConfigError(`The remote URL '${displayUrl}' is not an ssh:// URL.`);
  }
  const host = decode(parsed.hostname).replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new ConfigError(`The ssh remote URL '${displayUrl}' has no host.`);
  const opt = (name: string) => {
    const value = options[name];
    return value === undefined || value === "" ? undefined : value;
  };
  const user = opt("user") ?? (decode(parsed.username) || undefined);
  const port = positiveInt(opt("port"), "port", displayUrl, 65535) ??
    positiveInt(parsed.port, "port", displayUrl, 65535);
  for (const [what, value] of [["host", host], ["user", user]] as const) {
    if (value !== undefined && (value.startsWith("-") || /[\s\0]/.test(value))) {
      throw new ConfigError(
        `The ssh ${what} '${value}' of remote '${displayUrl}' is not allowed: ` +
          "it starts with '-' or holds blanks, so ssh could read it as an option.",
      );
    }
  }
  const password = opt("password") ?? (decode(parsed.password) || undefined);
  const passphrase = opt("passphrase");
  const connectTimeout = positiveInt(opt("timeout"), "timeout", displayUrl);
  const gss = opt("gss_auth");
  const maxSessions = positiveInt(opt("max_sessions"), "max_sessions", displayUrl);
  // `ask_password` / `ask_passphrase`: ssh prompts on the terminal by itself.
  bool(opt("ask_password"), false, "ask_password", displayUrl);
  bool(opt("ask_passphrase"), false, "ask_passphrase", displayUrl);
  const keyfile = opt("keyfile");
  return {
    host,
    ...(user !== undefined ? { user } : {}),
    ...(port !== undefined ? { port } : {}),
    root: decode(parsed.pathname) || ".",
    displayUrl,
    authTarget: `${user === undefined ? "" : `${user}@`}${host}:${port ?? 22}`,
    ...(keyfile !== undefined ? { keyfile } : {}),
    ...(connectTimeout !== undefined ? { connectTimeout } : {}),
    allowAgent: bool(opt("allow_agent"), true, "allow_agent", displayUrl),
    ...(gss !== undefined ? { gssAuth: bool(gss, false, "gss_auth", displayUrl) } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(maxSessions !== undefined ? { maxSessions } : {}),
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
