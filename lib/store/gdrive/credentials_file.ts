import { lstat, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { ConfigError } from "../../errors/mod.ts";
import { errnoCode } from "../errors.ts";
import { parseJsonObject } from "../oauth_token.ts";
import { GOOGLE_TOKEN_URI } from "../google/credentials.ts";
import { DRIVE_SCOPES } from "./options.ts";

/**
 * The user credentials DVC caches for Google Drive: one JSON object in
 * oauth2client's `OAuth2Credentials.to_json` format (spec cloud-remotes
 * §2.3.3). dxp reads and writes exactly this format, so the file moves
 * between DVC and dxp, and between machines, either way.
 */
export interface CachedCredentials {
  readonly accessToken: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string | undefined;
  /** Epoch ms; undefined = unknown (then the token is refreshed before use). */
  readonly tokenExpiry: number | undefined;
  readonly tokenUri: string;
  readonly invalid: boolean;
}

/** Keys oauth2client's `from_json` requires (null allowed). */
const REQUIRED = [
  "_module",
  "_class",
  "access_token",
  "client_id",
  "client_secret",
  "refresh_token",
  "token_expiry",
  "token_uri",
  "user_agent",
  "invalid",
];

const str = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** Parses the cached-credentials JSON; ConfigError (never quoting it) when it is not one. */
export function parseCredentials(text: string, source: string): CachedCredentials {
  const json = parseJsonObject(text);
  const missing = json === undefined ? ["(not JSON)"] : REQUIRED.filter((key) => !(key in json));
  const clientId = str(json?.["client_id"]);
  const clientSecret = str(json?.["client_secret"]);
  if (json === undefined || missing.length > 0 || !clientId || !clientSecret) {
    throw new ConfigError(
      `The Google Drive credentials ${source} are not in the format DVC writes (missing ${
        missing.length > 0 ? missing.join(", ") : "client_id/client_secret"
      }): log in again with 'dxp remote login'.`,
    );
  }
  const expiry = str(json["token_expiry"]);
  // oauth2client writes UTC without a zone designator in older versions, with "Z" since 2.x.
  const parsed = expiry === undefined
    ? Number.NaN
    : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(expiry) ? expiry : `${expiry}Z`);
  return {
    accessToken: str(json["access_token"]),
    clientId,
    clientSecret,
    refreshToken: str(json["refresh_token"]),
    tokenExpiry: Number.isNaN(parsed) ? undefined : parsed,
    tokenUri: str(json["token_uri"]) ?? GOOGLE_TOKEN_URI,
    invalid: json["invalid"] === true,
  };
}

/** `%Y-%m-%dT%H:%M:%SZ`, oauth2client's EXPIRY_FORMAT. */
function formatExpiry(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The file content oauth2client (and so DVC) writes and reads back: every key present. */
export function credentialsJson(
  credentials: CachedCredentials,
  tokenResponse: Record<string, unknown> | null,
): string {
  return JSON.stringify({
    access_token: credentials.accessToken ?? null,
    client_id: credentials.clientId,
    client_secret: credentials.clientSecret,
    refresh_token: credentials.refreshToken ?? null,
    token_expiry: credentials.tokenExpiry === undefined
      ? null
      : formatExpiry(credentials.tokenExpiry),
    token_uri: credentials.tokenUri,
    user_agent: null,
    revoke_uri: "https://oauth2.googleapis.com/revoke",
    id_token: null,
    id_token_jwt: null,
    token_response: tokenResponse,
    scopes: [...DRIVE_SCOPES],
    token_info_uri: "https://oauth2.googleapis.com/tokeninfo",
    invalid: credentials.invalid,
    _class: "OAuth2Credentials",
    _module: "oauth2client.client",
  });
}

/** The file's text, or undefined when it does not exist. */
export async function readCredentialsFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new ConfigError(
      `Cannot read the Google Drive credentials '${path}' (${code ?? "unreadable"}): fix its ` +
        "permissions.",
      { cause: error },
    );
  }
}

/**
 * Writes the credentials as PyDrive2 does: folders created, the file private
 * (0600), a symlink in its place refused. Written to a temp file and renamed,
 * so a reader never sees half a file.
 */
export async function writeCredentialsFile(path: string, text: string): Promise<void> {
  const folder = dirname(path);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const existing = await lstat(path).catch(() => undefined);
    if (existing?.isSymbolicLink()) {
      throw new ConfigError(
        `Refusing to write the Google Drive credentials through the symlink '${path}'.`,
      );
    }
    const temp = join(folder, `.${randomBytes(8).toString("hex")}.tmp`);
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text, "utf8");
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `Cannot save the Google Drive credentials to '${path}' (${
        errnoCode(error) ?? String(error)
      }): fix the folder's permissions or set gdrive_user_credentials_file.`,
      { cause: error },
    );
  }
}
