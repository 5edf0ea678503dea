import { ConfigError } from "../../errors/mod.ts";
import { parseBool, type TlsSettings } from "../http_values.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** A `gs://` remote's DVC section (spec cloud-remotes §3), checked. */
export interface GcsRemoteConfig {
  readonly bucket: string;
  /** Object-name prefix without leading or trailing `/` ("" for the bucket root). */
  readonly prefix: string;
  readonly displayUrl: string;
  /** JSON API location without a trailing `/` (`https://storage.googleapis.com`, an emulator…). */
  readonly endpoint: string;
  /** True for Google's own endpoint (the metadata server is only asked then or when told to). */
  readonly googleEndpoint: boolean;
  readonly anonymous: boolean;
  /** `credentialpath`: a service-account key or authorized-user file. */
  readonly credentialPath: string | undefined;
  readonly tls: TlsSettings | undefined;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
}

export const GOOGLE_STORAGE = "https://storage.googleapis.com";

/**
 * Reads `gs://bucket[/prefix]` and the section options. The endpoint is
 * `endpointurl`, else STORAGE_EMULATOR_HOST (as gcsfs: `http://` added when
 * it has no scheme), else Google's. allow_anonymous_login wins over
 * credentialpath, as in DVC.
 */
export function parseGcsRemote(
  url: string,
  options: Readonly<Record<string, string>>,
  env: Env,
): GcsRemoteConfig {
  const match = /^gs:\/\/([^/?#]*)\/*([^?#]*)$/i.exec(url);
  const bucket = match?.[1] ?? "";
  if (!match || bucket === "") {
    throw new ConfigError(`GCS remote URL '${url}' has no bucket: use 'gs://<bucket>[/<path>]'.`);
  }
  const prefix = (match[2] ?? "").replace(/\/+$/, "");
  const displayUrl = prefix === "" ? `gs://${bucket}` : `gs://${bucket}/${prefix}`;
  const opt = (name: string) => options[name]?.trim() || undefined;
  let endpoint = opt("endpointurl");
  const emulator = env["STORAGE_EMULATOR_HOST"]?.trim() || undefined;
  if (endpoint === undefined && emulator !== undefined) {
    endpoint = /^[a-z][a-z0-9+.-]*:\/\//i.test(emulator) ? emulator : `http://${emulator}`;
  }
  endpoint = (endpoint ?? GOOGLE_STORAGE).replace(/\/+$/, "");
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new ConfigError(`endpointurl '${endpoint}' of remote '${displayUrl}' is not a URL.`);
  }
  if (parsed.pathname !== "/" && parsed.pathname !== "") {
    throw new ConfigError(
      `endpointurl '${endpoint}' of remote '${displayUrl}' must be scheme://host[:port] ` +
        "without a path.",
    );
  }
  const caFile = env["SSL_CERT_FILE"]?.trim();
  return {
    bucket,
    prefix,
    displayUrl,
    endpoint,
    googleEndpoint: endpoint === GOOGLE_STORAGE,
    anonymous: parseBool(opt("allow_anonymous_login"), false, "allow_anonymous_login", displayUrl),
    credentialPath: opt("credentialpath"),
    tls: caFile ? { rejectUnauthorized: true, caFile } : undefined,
    connectTimeoutMs: 60_000,
    readTimeoutMs: 60_000,
  };
}
