import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ConfigError } from "../../errors/mod.ts";
import { parseBool, type TlsSettings } from "../http_values.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** DVC's own OAuth client (dvc-gdrive). Google refuses new sign-ins through it since 2024. */
export const DVC_CLIENT_ID =
  "710796635688-iivsgbgsb6uv1fap6635dhvuei09o66c.apps.googleusercontent.com";
export const DVC_CLIENT_SECRET = "a1Fz59uTpVNeG_VGuSKDLJXv";
/** Both scopes PyDrive2 asks for, space-joined in this order. */
export const DRIVE_SCOPES = [
  "https://www.googleapis.com/auth/drive",
  "https://www.googleapis.com/auth/drive.appdata",
] as const;

/** Where the user's credentials come from. */
export type GDriveCredentialsSource =
  | { readonly kind: "env" } // GDRIVE_CREDENTIALS_DATA, kept in memory
  | { readonly kind: "file"; readonly path: string; readonly explicit: boolean };

export type GDriveAuth =
  | {
    readonly kind: "serviceAccount";
    /** The key file path, or undefined for GDRIVE_CREDENTIALS_DATA. */
    readonly keyFile: string | undefined;
    /** `sub`: the user to act for (domain-wide delegation). */
    readonly subject: string | undefined;
  }
  | {
    readonly kind: "user";
    readonly clientId: string;
    readonly clientSecret: string;
    readonly credentials: GDriveCredentialsSource;
  };

/** A `gdrive://` remote's DVC section (spec cloud-remotes §2), checked. */
export interface GDriveRemoteConfig {
  /** The first folder id: a folder or shared-drive id, or the aliases `root` / `appDataFolder`. */
  readonly root: string;
  /** Folder path under `root` that must exist ("" for none); keys live below it. */
  readonly base: string;
  readonly displayUrl: string;
  /** `https://www.googleapis.com` (DXP_GDRIVE_API_URL for a Drive-compatible test server). */
  readonly apiUrl: string;
  readonly auth: GDriveAuth;
  readonly trashOnly: boolean;
  readonly acknowledgeAbuse: boolean;
  readonly tls: TlsSettings | undefined;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
}

/**
 * PyDrive2's cache folder (`user_cache_dir("pydrive2fs")`): the cached user
 * credentials are `<it>/<client id>/<profile>.json`.
 */
export function pydrive2CacheDir(env: Env): string {
  const home = env["HOME"] || homedir();
  if (process.platform === "darwin") return join(home, "Library", "Caches", "pydrive2fs");
  if (process.platform === "win32") {
    return join(env["LOCALAPPDATA"] || join(home, "AppData", "Local"), "pydrive2fs", "Cache");
  }
  return join(env["XDG_CACHE_HOME"] || join(home, ".cache"), "pydrive2fs");
}

/**
 * Reads `gdrive://<folder id | root | appDataFolder>[/path]` and the
 * section's options. Client id and secret each default to DVC's; the user
 * credentials come from GDRIVE_CREDENTIALS_DATA, else
 * gdrive_user_credentials_file, else PyDrive2's cache path — so a file made
 * by DVC on a laptop works when copied to the same place on a server.
 */
export function parseGDriveRemote(
  url: string,
  options: Readonly<Record<string, string>>,
  env: Env,
): GDriveRemoteConfig {
  const match = /^gdrive:\/\/(?:[^@/]*@)?([^/:?#]*)(?::\d+)?(\/[^?]*)?$/i.exec(url);
  const host = match?.[1] ?? "";
  if (!match || host === "") {
    throw new ConfigError(
      `Empty GDrive URL '${url}': use gdrive://<folder id>, gdrive://root/<path> or ` +
        "gdrive://appDataFolder.",
    );
  }
  const path = `${host}${match[2] ?? ""}`.replace(/\/\/+/g, "/").replace(/\/+$/, "");
  const slash = path.indexOf("/");
  const root = slash < 0 ? path : path.slice(0, slash);
  const base = slash < 0 ? "" : path.slice(slash + 1);
  const displayUrl = `gdrive://${path}`;
  const opt = (name: string) => options[name]?.trim();
  const bool = (name: string) => parseBool(opt(name) || undefined, false, name, displayUrl);

  let auth: GDriveAuth;
  if (bool("gdrive_use_service_account")) {
    const keyFile = opt("gdrive_service_account_json_file_path") || undefined;
    if (keyFile === undefined && !env["GDRIVE_CREDENTIALS_DATA"]) {
      throw new ConfigError(
        `GDrive remote '${displayUrl}' uses a service account but has no key: set ` +
          "gdrive_service_account_json_file_path, or GDRIVE_CREDENTIALS_DATA to the key's JSON.",
      );
    }
    auth = {
      kind: "serviceAccount",
      keyFile,
      subject: opt("gdrive_service_account_user_email") || undefined,
    };
  } else {
    const clientId = opt("gdrive_client_id");
    const clientSecret = opt("gdrive_client_secret");
    if (clientId === "" || clientSecret === "") {
      throw new ConfigError(
        `GDrive remote '${displayUrl}': gdrive_client_id and gdrive_client_secret must not be ` +
          "empty; set both (your own OAuth client) or neither.",
      );
    }
    const id = clientId ?? DVC_CLIENT_ID;
    const file = opt("gdrive_user_credentials_file");
    auth = {
      kind: "user",
      clientId: id,
      clientSecret: clientSecret ?? DVC_CLIENT_SECRET,
      credentials: env["GDRIVE_CREDENTIALS_DATA"]
        ? { kind: "env" }
        : file
        ? { kind: "file", path: file, explicit: true }
        : {
          kind: "file",
          path: join(pydrive2CacheDir(env), id, `${opt("profile") || "default"}.json`),
          explicit: false,
        },
    };
  }
  const caFile = env["SSL_CERT_FILE"]?.trim();
  return {
    root,
    base,
    displayUrl,
    apiUrl: (env["DXP_GDRIVE_API_URL"]?.trim() || "https://www.googleapis.com").replace(/\/+$/, ""),
    auth,
    trashOnly: bool("gdrive_trash_only"),
    acknowledgeAbuse: bool("gdrive_acknowledge_abuse"),
    tls: caFile ? { rejectUnauthorized: true, caFile } : undefined,
    connectTimeoutMs: 60_000,
    readTimeoutMs: 60_000,
  };
}
