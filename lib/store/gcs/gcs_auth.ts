import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../errors/mod.ts";
import { TokenCache, type TokenSource } from "../bearer_token.ts";
import { errnoCode } from "../errors.ts";
import type { HttpLimits } from "../http_fetch.ts";
import { parseJsonObject } from "../oauth_token.ts";
import {
  parseAuthorizedUser,
  parseServiceAccount,
  refreshTokenSource,
  serviceAccountTokenSource,
} from "../google/credentials.ts";
import { METADATA_PROBE_BUDGET_MS, metadataToken } from "../google/metadata.ts";
import type { GcsRemoteConfig } from "./options.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** gcsfs's default access level (`full_control`). */
export const GCS_SCOPE = "https://www.googleapis.com/auth/devstorage.full_control";

/** The credentials a command uses: a token cache, or none (anonymous requests). */
export interface GcsCredentials {
  readonly tokens: TokenCache | undefined;
  /** Where they came from, for messages and `-v` ("service account key '/k.json'"). */
  readonly source: string;
}

/**
 * Finds the credentials as DVC + gcsfs + google-auth do: allow_anonymous_login
 * → credentialpath → GOOGLE_APPLICATION_CREDENTIALS → gcloud's
 * application-default file (`$CLOUDSDK_CONFIG` or `~/.config/gcloud`) → the
 * GCE metadata server (a short probe; skipped with NO_GCE_CHECK=true) →
 * anonymous. A named file that is missing or unreadable is a ConfigError,
 * never a silent fall-through.
 */
export async function findGcsCredentials(
  config: GcsRemoteConfig,
  env: Env,
  limits: HttpLimits,
  signal: AbortSignal | undefined,
  onDebug?: (line: string) => void,
): Promise<GcsCredentials> {
  if (config.anonymous) return { tokens: undefined, source: "anonymous (allow_anonymous_login)" };
  const context = { remote: config.displayUrl, limits };
  const named = config.credentialPath !== undefined
    ? { path: config.credentialPath, why: "the remote's credentialpath" }
    : env["GOOGLE_APPLICATION_CREDENTIALS"]?.trim()
    ? { path: env["GOOGLE_APPLICATION_CREDENTIALS"]!.trim(), why: "GOOGLE_APPLICATION_CREDENTIALS" }
    : undefined;
  if (named !== undefined) {
    const text = await readCredentialFile(named.path, named.why, true);
    return fromFile(text!, `'${named.path}' (${named.why})`, context);
  }
  const gcloudDir = env["CLOUDSDK_CONFIG"]?.trim() ||
    join(env["HOME"] || homedir(), ".config", "gcloud");
  const adcPath = join(gcloudDir, "application_default_credentials.json");
  const adc = await readCredentialFile(adcPath, "gcloud's application-default credentials", false);
  if (adc !== undefined) {
    return fromFile(adc, `'${adcPath}' (gcloud auth application-default login)`, context);
  }
  if ((env["NO_GCE_CHECK"] ?? "").toLowerCase() !== "true") {
    const first = await metadataToken(env, signal, METADATA_PROBE_BUDGET_MS, onDebug);
    if (first !== undefined) {
      let initial: typeof first | undefined = first;
      const source: TokenSource = async (s) => {
        const token = initial ?? await metadataToken(env, s, limits.readTimeoutMs, onDebug);
        initial = undefined;
        if (token === undefined) {
          throw new ConfigError(
            `The GCE metadata server stopped answering for '${config.displayUrl}'.`,
          );
        }
        return token;
      };
      return { tokens: new TokenCache(source), source: "the GCE metadata server" };
    }
  }
  return { tokens: undefined, source: "no credentials (anonymous requests)" };
}

/** The file's text; undefined only when `required` is false and it does not exist. */
async function readCredentialFile(
  path: string,
  why: string,
  required: boolean,
): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = errnoCode(error);
    if (!required && (code === "ENOENT" || code === "ENOTDIR")) return undefined;
    throw new ConfigError(
      `Cannot read the Google credentials file '${path}' (${why}): ${
        code === "ENOENT" ? "it does not exist" : (code ?? "unreadable")
      }; fix the path.`,
      { cause: error },
    );
  }
}

function fromFile(
  text: string,
  source: string,
  context: { remote: string; limits: HttpLimits },
): GcsCredentials {
  const json = parseJsonObject(text);
  if (json === undefined) {
    throw new ConfigError(`The Google credentials file ${source} is not a JSON object.`);
  }
  const type = json["type"];
  if (type === "service_account") {
    const key = parseServiceAccount(json, source);
    return {
      tokens: new TokenCache(serviceAccountTokenSource(key, [GCS_SCOPE], undefined, context)),
      source: `service account '${key.clientEmail}' from ${source}`,
    };
  }
  if (type === "authorized_user") {
    const user = parseAuthorizedUser(json, source);
    return {
      tokens: new TokenCache(
        refreshTokenSource(user, {
          ...context,
          advice: "run 'gcloud auth application-default login' again",
        }),
      ),
      source: `user credentials from ${source}`,
    };
  }
  throw new ConfigError(
    `The Google credentials file ${source} has type '${String(type)}', which dxp does not ` +
      "support: use a service-account key or 'gcloud auth application-default login' credentials.",
  );
}
