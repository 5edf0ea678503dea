import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { AuthError } from "../../errors/mod.ts";
import { abortError } from "../abort.ts";
import type { BearerToken, TokenSource } from "../bearer_token.ts";
import type { HttpLimits } from "../http_fetch.ts";
import { parseJsonObject, requestToken } from "../oauth_token.ts";
import type { AzureAuth, DefaultSource } from "./options.ts";

type Env = Readonly<Record<string, string | undefined>>;

const STORAGE_SCOPE = "https://storage.azure.com/.default";
const STORAGE_RESOURCE = "https://storage.azure.com";
/** The whole managed-identity probe must finish within this off Azure (like IMDS for S3). */
const PROBE_BUDGET_MS = 1000;

interface EntraContext {
  readonly env: Env;
  readonly remote: string;
  readonly limits: HttpLimits;
  readonly onDebug?: ((line: string) => void) | undefined;
}

function authorityHost(env: Env): string {
  return (env["AZURE_AUTHORITY_HOST"]?.trim() || "https://login.microsoftonline.com")
    .replace(/\/+$/, "");
}

/** A client-credentials token for a service principal (secret or federated assertion). */
function clientCredentials(
  tenantId: string,
  clientId: string,
  secret: { clientSecret: string } | { assertionFile: string },
  what: string,
  advice: string,
  context: EntraContext,
): TokenSource {
  return async (signal) => {
    const form: Record<string, string> = {
      grant_type: "client_credentials",
      client_id: clientId,
      scope: STORAGE_SCOPE,
    };
    if ("clientSecret" in secret) form["client_secret"] = secret.clientSecret;
    else {
      form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
      form["client_assertion"] = (await readFile(secret.assertionFile, "utf8")).trim();
    }
    const url = `${authorityHost(context.env)}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
    const { token } = await requestToken(url, form, {
      action: `get an Azure token for ${what}`,
      remote: context.remote,
      advice,
      limits: context.limits,
      signal,
    });
    return token;
  };
}

/**
 * Managed identity: App Service / Functions (`IDENTITY_ENDPOINT` +
 * `IDENTITY_HEADER`) or the VM metadata service (IMDS, host overridable with
 * AZURE_POD_IDENTITY_AUTHORITY_HOST as azure-identity allows). Resolves
 * undefined when none answers within a short budget, so off Azure the chain
 * moves on without a noticeable wait.
 */
async function managedIdentity(
  context: EntraContext,
  signal: AbortSignal | undefined,
): Promise<BearerToken | undefined> {
  const { env } = context;
  const clientId = env["AZURE_CLIENT_ID"]?.trim();
  const budget = AbortSignal.timeout(PROBE_BUDGET_MS);
  const probe = signal ? AbortSignal.any([signal, budget]) : budget;
  let url: URL;
  const headers: Record<string, string> = {};
  if (env["IDENTITY_ENDPOINT"] && env["IDENTITY_HEADER"]) {
    url = new URL(env["IDENTITY_ENDPOINT"]);
    url.searchParams.set("api-version", "2019-08-01");
    headers["x-identity-header"] = env["IDENTITY_HEADER"];
  } else {
    const host = (env["AZURE_POD_IDENTITY_AUTHORITY_HOST"]?.trim() || "http://169.254.169.254")
      .replace(/\/+$/, "");
    url = new URL(`${host}/metadata/identity/oauth2/token`);
    url.searchParams.set("api-version", "2018-02-01");
    headers["metadata"] = "true";
  }
  url.searchParams.set("resource", STORAGE_RESOURCE);
  if (clientId) url.searchParams.set("client_id", clientId);
  try {
    const response = await fetch(url, { headers, signal: probe });
    const body = parseJsonObject(await response.text());
    const token = body?.["access_token"];
    if (!response.ok || typeof token !== "string") {
      context.onDebug?.(`Azure managed identity answered HTTP ${response.status}`);
      return undefined;
    }
    const expiresOn = Number(body?.["expires_on"]);
    const expiresIn = Number(body?.["expires_in"]);
    return {
      token,
      expiresAt: Number.isFinite(expiresOn) && expiresOn > 0
        ? expiresOn * 1000
        : Number.isFinite(expiresIn) && expiresIn > 0
        ? Date.now() + expiresIn * 1000
        : undefined,
    };
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    context.onDebug?.(`Azure managed identity not available: ${(error as Error).name}`);
    return undefined;
  }
}

/** `az account get-access-token` (the Azure CLI's login), if `az` is installed and logged in. */
function azureCli(context: EntraContext): Promise<BearerToken | undefined> {
  return new Promise((resolve) => {
    execFile(
      "az",
      ["account", "get-access-token", "--resource", STORAGE_RESOURCE, "--output", "json"],
      { env: context.env as NodeJS.ProcessEnv, timeout: 20_000, maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        if (error) {
          context.onDebug?.(`Azure CLI token not available (${error.message.split("\n")[0]})`);
          resolve(undefined);
          return;
        }
        const body = parseJsonObject(stdout);
        const token = body?.["accessToken"];
        const expiresOn = Number(body?.["expires_on"]);
        resolve(
          typeof token === "string"
            ? { token, expiresAt: Number.isFinite(expiresOn) ? expiresOn * 1000 : undefined }
            : undefined,
        );
      },
    );
  });
}

/**
 * The token source for a service principal or DefaultAzureCredential
 * (environment service principal → workload identity → managed identity →
 * Azure CLI; the first available wins and is kept for the command).
 */
export function entraTokenSource(
  auth: Extract<AzureAuth, { kind: "servicePrincipal" | "default" }>,
  context: EntraContext,
): TokenSource {
  if (auth.kind === "servicePrincipal") {
    return clientCredentials(
      auth.tenantId,
      auth.clientId,
      { clientSecret: auth.clientSecret },
      `service principal '${auth.clientId}'`,
      "check tenant_id, client_id and client_secret (or AZURE_STORAGE_TENANT_ID/CLIENT_ID/CLIENT_SECRET)",
      context,
    );
  }
  let chosen: TokenSource | undefined;
  return async (signal) => {
    if (chosen !== undefined) return await chosen(signal);
    const { env } = context;
    const tenant = env["AZURE_TENANT_ID"]?.trim();
    const client = env["AZURE_CLIENT_ID"]?.trim();
    const secret = env["AZURE_CLIENT_SECRET"]?.trim();
    if (!auth.exclude.has("environment" satisfies DefaultSource) && tenant && client && secret) {
      chosen = clientCredentials(
        tenant,
        client,
        { clientSecret: secret },
        `service principal '${client}' (AZURE_CLIENT_ID)`,
        "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
        context,
      );
      return await chosen(signal);
    }
    const federated = env["AZURE_FEDERATED_TOKEN_FILE"]?.trim();
    if (federated && tenant && client) {
      chosen = clientCredentials(
        tenant,
        client,
        { assertionFile: federated },
        `workload identity '${client}'`,
        "check AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID",
        context,
      );
      return await chosen(signal);
    }
    if (!auth.exclude.has("managedIdentity")) {
      const token = await managedIdentity(context, signal);
      if (token !== undefined) {
        chosen = async (s) =>
          (await managedIdentity(context, s)) ?? Promise.reject(noCredentials(context.remote));
        context.onDebug?.(`Azure credentials for ${context.remote} from managed identity`);
        return token;
      }
    }
    const cli = await azureCli(context);
    if (cli !== undefined) {
      chosen = async () =>
        (await azureCli(context)) ?? Promise.reject(noCredentials(context.remote));
      context.onDebug?.(`Azure credentials for ${context.remote} from the Azure CLI`);
      return cli;
    }
    throw noCredentials(context.remote);
  };
}

function noCredentials(remote: string): AuthError {
  return new AuthError(
    `No Azure credentials found for '${remote}': set account_key, sas_token, connection_string or ` +
      "tenant_id/client_id/client_secret with 'dxp remote modify --local', or log in with " +
      "'az login', or set allow_anonymous_login for a public container.",
  );
}
