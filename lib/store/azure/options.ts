import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../errors/mod.ts";
import { parseBool, parseSeconds, type TlsSettings } from "../http_values.ts";
import { parseAwsIni } from "../s3/ini.ts";
import { parseConnectionString } from "./connection_string.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** How requests to the Blob service are authorised. */
export type AzureAuth =
  | { readonly kind: "sharedKey"; readonly account: string; readonly key: Buffer }
  | { readonly kind: "sas"; readonly query: string }
  | {
    readonly kind: "servicePrincipal";
    readonly tenantId: string;
    readonly clientId: string;
    readonly clientSecret: string;
  }
  | { readonly kind: "default"; readonly exclude: ReadonlySet<DefaultSource> }
  | { readonly kind: "anonymous" };

/** The sources of DefaultAzureCredential that dxp implements, in its order. */
export type DefaultSource = "environment" | "workload" | "managedIdentity" | "cli";

/** An Azure remote's DVC section (spec cloud-remotes §4), checked and resolved. */
export interface AzureRemoteConfig {
  readonly container: string;
  /** Blob-name prefix without leading or trailing `/` ("" for the container root). */
  readonly prefix: string;
  readonly displayUrl: string;
  /** Blob service endpoint without a trailing `/` (path-style for Azurite). */
  readonly endpoint: string;
  readonly auth: AzureAuth;
  /** Where the credentials came from, for `-v` lines (never the values). */
  readonly authSource: string;
  readonly tls: TlsSettings | undefined;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
}

/** The Azure CLI's config (`$AZURE_CONFIG_DIR/config`, `[storage]`), as knack reads it. */
function cliConfig(env: Env): { get(option: string): string | undefined; path: string } {
  const dir = env["AZURE_CONFIG_DIR"] || join(env["HOME"] || homedir(), ".azure");
  const path = join(dir, "config");
  let storage: ReadonlyMap<string, string> | undefined;
  try {
    storage = parseAwsIni(readFileSync(path, "utf8")).get("storage");
  } catch {
    storage = undefined; // no Azure CLI config: nothing configured there
  }
  return { get: (option) => storage?.get(option) || undefined, path };
}

/**
 * Reads `azure://container[/prefix]`, the section's options, the
 * environment and the Azure CLI config with DVC's precedence:
 * connection string > account key > SAS token > service principal >
 * DefaultAzureCredential (environment, workload identity, managed identity,
 * Azure CLI) > anonymous (only with allow_anonymous_login). Throws
 * ConfigError for contradictory or malformed settings, never quoting a secret.
 */
export function parseAzureRemote(
  url: string,
  options: Readonly<Record<string, string>>,
  env: Env,
): AzureRemoteConfig {
  const match = /^azure:\/\/([^/?#]*)\/*([^?#]*)$/i.exec(url);
  const container = match?.[1] ?? "";
  if (!match || container === "") {
    throw new ConfigError(
      `Azure remote URL '${url}' has no container: use 'azure://<container>[/<path>]'.`,
    );
  }
  const prefix = (match[2] ?? "").replace(/\/+$/, "");
  const displayUrl = prefix === "" ? `azure://${container}` : `azure://${container}/${prefix}`;
  const opt = (name: string) => options[name]?.trim() || undefined;
  const fromEnv = (name: string) => env[name]?.trim() || undefined;
  const cli = cliConfig(env);
  /** option → AZURE_STORAGE_<NAME> → `[storage] <name>` of the CLI config (knack's order). */
  const dvcValue = (option: string, cliName: string) => {
    const value = opt(option);
    if (value !== undefined) return { value, source: `the remote's ${option}` };
    const variable = `AZURE_STORAGE_${cliName.toUpperCase()}`;
    const envValue = fromEnv(variable);
    if (envValue !== undefined) return { value: envValue, source: variable };
    const fileValue = cli.get(cliName);
    if (fileValue !== undefined) {
      return { value: fileValue, source: `[storage] ${cliName} in '${cli.path}'` };
    }
    return undefined;
  };
  const limits = {
    tls: parseCaFile(env),
    connectTimeoutMs: parseSeconds(
      opt("connection_timeout"),
      20,
      "connection_timeout",
      displayUrl,
    ),
    readTimeoutMs: parseSeconds(
      opt("read_timeout") ?? opt("timeout"),
      60,
      "read_timeout",
      displayUrl,
    ),
  };
  const base = { container, prefix, displayUrl, ...limits };
  const endpointOverride = fromEnv("DXP_AZURE_BLOB_ENDPOINT")?.replace(/\/+$/, "");

  const connection = dvcValue("connection_string", "connection_string");
  if (connection !== undefined) {
    const parsed = parseConnectionString(connection.value, connection.source);
    const source = `the connection string (${connection.source})`;
    if (parsed.accountName !== undefined && parsed.accountKey !== undefined) {
      return {
        ...base,
        endpoint: parsed.endpoint,
        auth: sharedKey(parsed.accountName, parsed.accountKey, source),
        authSource: source,
      };
    }
    return {
      ...base,
      endpoint: parsed.endpoint,
      auth: parsed.sas !== undefined ? { kind: "sas", query: parsed.sas } : { kind: "anonymous" },
      authSource: source,
    };
  }

  const account = dvcValue("account_name", "account");
  if (account === undefined) {
    throw new ConfigError(
      `Azure remote '${displayUrl}' requires either account_name or connection_string: set one ` +
        "with 'dxp remote modify', or AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_CONNECTION_STRING.",
    );
  }
  if (!/^[a-z0-9-]{1,63}$/i.test(account.value)) {
    throw new ConfigError(
      `Azure storage account name '${account.value}' (${account.source}) is not valid: use the ` +
        "account's name only, such as 'mystorage'.",
    );
  }
  const endpoint = endpointOverride ?? `https://${account.value}.blob.core.windows.net`;
  const key = dvcValue("account_key", "key") ??
    (fromEnv("AZURE_STORAGE_ACCOUNT_KEY") === undefined
      ? undefined
      : { value: fromEnv("AZURE_STORAGE_ACCOUNT_KEY")!, source: "AZURE_STORAGE_ACCOUNT_KEY" });
  if (key !== undefined) {
    return {
      ...base,
      endpoint,
      auth: sharedKey(account.value, key.value, key.source),
      authSource: `the account key (${key.source})`,
    };
  }
  const sas = dvcValue("sas_token", "sas_token");
  if (sas !== undefined) {
    return {
      ...base,
      endpoint,
      auth: { kind: "sas", query: sas.value.replace(/^\?/, "") },
      authSource: `the SAS token (${sas.source})`,
    };
  }
  const clientId = opt("client_id") ?? fromEnv("AZURE_STORAGE_CLIENT_ID");
  if (clientId !== undefined) {
    const tenantId = opt("tenant_id") ?? fromEnv("AZURE_STORAGE_TENANT_ID");
    const clientSecret = opt("client_secret") ?? fromEnv("AZURE_STORAGE_CLIENT_SECRET");
    if (tenantId === undefined || clientSecret === undefined) {
      throw new ConfigError(
        `Azure remote '${displayUrl}' has client_id but no ${
          tenantId === undefined ? "tenant_id" : "client_secret"
        }: a service principal needs tenant_id, client_id and client_secret.`,
      );
    }
    return {
      ...base,
      endpoint,
      auth: { kind: "servicePrincipal", tenantId, clientId, clientSecret },
      authSource: `service principal '${clientId}' of tenant '${tenantId}'`,
    };
  }
  const anonymous = parseBool(
    opt("allow_anonymous_login") ?? fromEnv("AZURE_STORAGE_ANON"),
    false,
    "allow_anonymous_login",
    displayUrl,
  );
  if (anonymous) return { ...base, endpoint, auth: { kind: "anonymous" }, authSource: "anonymous" };
  const exclude = new Set<DefaultSource>();
  const excluded = (name: string) =>
    parseBool(opt(`exclude_${name}_credential`), false, `exclude_${name}_credential`, displayUrl);
  if (excluded("environment")) exclude.add("environment");
  if (excluded("managed_identity")) exclude.add("managedIdentity");
  return {
    ...base,
    endpoint,
    auth: { kind: "default", exclude },
    authSource:
      "the credentials DefaultAzureCredential found (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, managed identity or 'az login')",
  };
}

function sharedKey(account: string, key: string, source: string): AzureAuth {
  const decoded = Buffer.from(key, "base64");
  if (decoded.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
    throw new ConfigError(
      `The Azure account key from ${source} is not base64: copy key1 or key2 again from the ` +
        "storage account's Access keys page.",
    );
  }
  return { kind: "sharedKey", account, key: decoded };
}

/** SSL_CERT_FILE names the CA bundle to trust, as for Python's ssl module. */
function parseCaFile(env: Env): TlsSettings | undefined {
  const file = env["SSL_CERT_FILE"]?.trim();
  return file ? { rejectUnauthorized: true, caFile: file } : undefined;
}
