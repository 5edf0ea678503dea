import { readFile } from "node:fs/promises";
import { AuthError, ConfigError } from "../../errors/mod.ts";
import type { BearerToken, TokenSource } from "../bearer_token.ts";
import { errnoCode } from "../errors.ts";
import type { HttpLimits } from "../http_fetch.ts";
import { parseJsonObject, type TokenAnswer } from "../oauth_token.ts";
import {
  parseServiceAccount,
  refreshTokenSource,
  serviceAccountTokenSource,
} from "../google/credentials.ts";
import {
  type CachedCredentials,
  credentialsJson,
  parseCredentials,
  readCredentialsFile,
  writeCredentialsFile,
} from "./credentials_file.ts";
import { DRIVE_SCOPES, type GDriveRemoteConfig } from "./options.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The token source of a Drive remote and a description of it for messages. */
export interface GDriveTokens {
  readonly source: TokenSource;
  readonly description: string;
}

/**
 * The tokens of a Drive remote. A service account signs a JWT (WebCrypto)
 * for each token. A user's cached credentials are used as DVC uses them:
 * the saved access token while it is valid, then the refresh token with the
 * client that obtained it (the file's client_id/client_secret, not the
 * remote's), and each new token written back in the same format (except for
 * GDRIVE_CREDENTIALS_DATA, which stays in memory). Missing credentials are
 * an AuthError saying how to get some: dxp never starts a browser login in
 * the middle of a transfer.
 */
export async function gdriveTokens(
  config: GDriveRemoteConfig,
  env: Env,
  limits: HttpLimits,
  now: () => number = Date.now,
): Promise<GDriveTokens> {
  const context = { remote: config.displayUrl, limits, now };
  const { auth } = config;
  if (auth.kind === "serviceAccount") {
    const source = auth.keyFile === undefined ? "GDRIVE_CREDENTIALS_DATA" : `'${auth.keyFile}'`;
    let text: string;
    if (auth.keyFile === undefined) text = env["GDRIVE_CREDENTIALS_DATA"] ?? "";
    else {
      try {
        text = await readFile(auth.keyFile, "utf8");
      } catch (error) {
        throw new ConfigError(
          `Cannot read the service account key ${source} ` +
            `(gdrive_service_account_json_file_path): ${errnoCode(error) ?? "unreadable"}.`,
          { cause: error },
        );
      }
    }
    const json = parseJsonObject(text);
    if (json === undefined || json["type"] !== "service_account") {
      throw new ConfigError(
        `The service account key ${source} is not a service account's JSON key ` +
          `("type": "service_account"): download the key again.`,
      );
    }
    const key = parseServiceAccount(json, source);
    return {
      source: serviceAccountTokenSource(key, DRIVE_SCOPES, auth.subject, context),
      description: `service account '${key.clientEmail}'${
        auth.subject === undefined ? "" : ` acting for '${auth.subject}'`
      } (${source})`,
    };
  }

  const where = auth.credentials.kind === "env"
    ? "GDRIVE_CREDENTIALS_DATA"
    : `'${auth.credentials.path}'`;
  const text = auth.credentials.kind === "env"
    ? env["GDRIVE_CREDENTIALS_DATA"]!
    : await readCredentialsFile(auth.credentials.path);
  if (text === undefined) {
    throw new AuthError(
      `Google Drive remote '${config.displayUrl}' has no credentials on this machine (${where} ` +
        "does not exist): run 'dxp remote login <remote>', or copy that file from a machine " +
        "where DVC or dxp is logged in, or set GDRIVE_CREDENTIALS_DATA, or use a service account.",
    );
  }
  let current = parseCredentials(text, where);
  const save = async (next: CachedCredentials, response: Record<string, unknown> | null) => {
    current = next;
    if (auth.credentials.kind === "file") {
      await writeCredentialsFile(auth.credentials.path, credentialsJson(next, response));
    }
  };
  const advice = "log in again with 'dxp remote login <remote>'";
  // The saved access token is used once, while valid; every later token is a refresh.
  let saved: BearerToken | undefined =
    current.accessToken !== undefined && !current.invalid && current.tokenExpiry !== undefined &&
      current.tokenExpiry > now()
      ? { token: current.accessToken, expiresAt: current.tokenExpiry }
      : undefined;
  const source: TokenSource = async (signal) => {
    if (saved !== undefined) {
      const token = saved;
      saved = undefined;
      return token;
    }
    if (current.refreshToken === undefined) {
      throw new AuthError(
        `The Google Drive credentials ${where} hold no refresh token: ${advice}.`,
      );
    }
    const refresh = refreshTokenSource(
      {
        clientId: current.clientId,
        clientSecret: current.clientSecret,
        refreshToken: current.refreshToken,
        tokenUri: current.tokenUri,
        source: where,
      },
      { ...context, advice },
      async (answer: TokenAnswer) => {
        const rotated = answer.body["refresh_token"];
        await save({
          ...current,
          accessToken: answer.token.token,
          tokenExpiry: answer.token.expiresAt,
          refreshToken: typeof rotated === "string" && rotated !== ""
            ? rotated
            : current.refreshToken,
          invalid: false,
        }, answer.body);
      },
    );
    try {
      return await refresh(signal);
    } catch (error) {
      // As oauth2client: a refusal marks the credentials invalid, so DVC asks for a login too.
      if (error instanceof AuthError && typeof error.data["oauthError"] === "string") {
        await save({ ...current, invalid: true }, null).catch(() => {});
      }
      throw error;
    }
  };
  return { source, description: `the user credentials ${where}` };
}
