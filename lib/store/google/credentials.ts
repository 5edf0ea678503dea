import { ConfigError } from "../../errors/mod.ts";
import type { BearerToken, TokenSource } from "../bearer_token.ts";
import type { HttpLimits } from "../http_fetch.ts";
import { requestToken, type TokenAnswer } from "../oauth_token.ts";
import { signJwtRs256 } from "./jwt.ts";

export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** What every Google token request needs besides its grant. */
export interface GoogleTokenContext {
  /** The remote the token is for (its display URL). */
  readonly remote: string;
  readonly limits: HttpLimits;
  readonly now?: () => number;
}

/** A service account's JSON key (the file Google Cloud's console downloads). */
export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKey: string;
  readonly privateKeyId: string | undefined;
  readonly tokenUri: string;
  /** Where the key came from, for messages ("'/path/key.json'", "GDRIVE_CREDENTIALS_DATA"). */
  readonly source: string;
}

/** A user's refresh token and the OAuth client that obtained it (gcloud ADC, DVC's Drive cache). */
export interface AuthorizedUser {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly tokenUri: string;
  readonly source: string;
}

function field(json: Record<string, unknown>, name: string): string | undefined {
  const value = json[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Reads a `"type": "service_account"` key; ConfigError naming the missing field. */
export function parseServiceAccount(
  json: Record<string, unknown>,
  source: string,
): ServiceAccountKey {
  const clientEmail = field(json, "client_email");
  const privateKey = field(json, "private_key");
  if (clientEmail === undefined || privateKey === undefined) {
    throw new ConfigError(
      `The service account key ${source} lacks ${
        clientEmail === undefined ? "client_email" : "private_key"
      }: download the key again (IAM → Service accounts → Keys → Add key → JSON).`,
    );
  }
  return {
    clientEmail,
    privateKey,
    privateKeyId: field(json, "private_key_id"),
    tokenUri: field(json, "token_uri") ?? GOOGLE_TOKEN_URI,
    source,
  };
}

/** Reads an `"type": "authorized_user"` record (client id/secret + refresh token). */
export function parseAuthorizedUser(
  json: Record<string, unknown>,
  source: string,
): AuthorizedUser {
  const clientId = field(json, "client_id");
  const clientSecret = field(json, "client_secret");
  const refreshToken = field(json, "refresh_token");
  const missing = [
    ["client_id", clientId],
    ["client_secret", clientSecret],
    ["refresh_token", refreshToken],
  ].filter(([, value]) => value === undefined).map(([name]) => name);
  if (missing.length > 0) {
    throw new ConfigError(
      `The user credentials ${source} lack ${missing.join(", ")}: sign in again.`,
    );
  }
  return {
    clientId: clientId!,
    clientSecret: clientSecret!,
    refreshToken: refreshToken!,
    tokenUri: field(json, "token_uri") ?? GOOGLE_TOKEN_URI,
    source,
  };
}

/**
 * Tokens for a service account (OAuth 2.0 JWT bearer grant, RFC 7523): a
 * one-hour assertion `{iss, scope, aud, iat, exp[, sub]}` signed RS256 with
 * the key through WebCrypto, exchanged at the key's `token_uri`. `subject`
 * impersonates a user (domain-wide delegation).
 */
export function serviceAccountTokenSource(
  key: ServiceAccountKey,
  scopes: readonly string[],
  subject: string | undefined,
  context: GoogleTokenContext,
): TokenSource {
  const now = context.now ?? Date.now;
  return async (signal) => {
    const iat = Math.floor(now() / 1000);
    const assertion = await signJwtRs256(
      {
        typ: "JWT",
        alg: "RS256",
        ...(key.privateKeyId === undefined ? {} : { kid: key.privateKeyId }),
      },
      {
        iss: key.clientEmail,
        scope: scopes.join(" "),
        aud: key.tokenUri,
        iat,
        exp: iat + 3600,
        ...(subject === undefined ? {} : { sub: subject }),
      },
      key.privateKey,
      key.source,
    );
    const { token } = await requestToken(key.tokenUri, {
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion,
    }, {
      action: `get a Google token for service account '${key.clientEmail}'`,
      remote: context.remote,
      advice: `check that the key ${key.source} is still valid${
        subject === undefined ? "" : ` and may act for '${subject}' (domain-wide delegation)`
      }`,
      limits: context.limits,
      signal,
    }, now);
    return token;
  };
}

/**
 * Tokens from a refresh token (RFC 6749 §6). `onAnswer` sees each successful
 * answer (Drive's credentials cache stores it, with a new refresh token when
 * one is returned).
 */
export function refreshTokenSource(
  user: AuthorizedUser,
  context: GoogleTokenContext & { readonly advice: string },
  onAnswer?: (answer: TokenAnswer) => void | Promise<void>,
): TokenSource {
  return async (signal): Promise<BearerToken> => {
    const answer = await requestToken(user.tokenUri, {
      grant_type: "refresh_token",
      client_id: user.clientId,
      client_secret: user.clientSecret,
      refresh_token: user.refreshToken,
    }, {
      action: `refresh the Google access token from ${user.source}`,
      remote: context.remote,
      advice: context.advice,
      limits: context.limits,
      signal,
    }, context.now);
    await onAnswer?.(answer);
    return answer.token;
  };
}
