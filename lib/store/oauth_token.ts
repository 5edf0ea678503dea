import { AuthError, StoreError } from "../errors/mod.ts";
import { redactUrl } from "../util/redact.ts";
import type { BearerToken } from "./bearer_token.ts";
import { parseRetryAfter } from "./errors.ts";
import { fetchWithLimits, type HttpLimits } from "./http_fetch.ts";
import { MAX_ANSWER_BYTES, readErrorText } from "./read_body.ts";

/** What a token request is for, to name it in messages (never the secrets themselves). */
export interface TokenRequestContext {
  /** "get an Azure token for service principal '1234…'". */
  readonly action: string;
  /** The remote the token is for (its display URL). */
  readonly remote: string;
  /** How to fix a refused request: "fix client_secret with 'dxp remote modify --local'". */
  readonly advice: string;
  readonly limits: HttpLimits;
  readonly signal?: AbortSignal | undefined;
}

/** The parsed JSON answer of a successful token request (access_token checked). */
export interface TokenAnswer {
  readonly body: Record<string, unknown>;
  readonly token: BearerToken;
}

/**
 * One OAuth 2.0 token request (RFC 6749 §4): a form POST answered with JSON
 * `{access_token, expires_in}`. A refusal (`invalid_client`, `invalid_grant`,
 * any 4xx) is an AuthError quoting the server's `error` and description;
 * 429/5xx are transient. The form's values never appear in a message.
 */
export async function requestToken(
  url: string,
  form: Readonly<Record<string, string>>,
  context: TokenRequestContext,
  now: () => number = Date.now,
): Promise<TokenAnswer> {
  const response = await fetchWithLimits(
    url,
    {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: new TextEncoder().encode(new URLSearchParams(form).toString()),
    },
    context.limits,
    { action: context.action, where: url, signal: context.signal },
  );
  const text = await readErrorText(response, MAX_ANSWER_BYTES);
  const body = parseJsonObject(text);
  if (response.ok) {
    const token = body?.["access_token"];
    if (typeof token !== "string" || token === "") {
      throw new AuthError(
        `Failed to ${context.action} for '${context.remote}': '${
          redactUrl(url)
        }' answered without an access_token.`,
      );
    }
    const expiresIn = Number(body?.["expires_in"]);
    return {
      body: body!,
      token: {
        token,
        expiresAt: Number.isFinite(expiresIn) && expiresIn > 0
          ? now() + expiresIn * 1000
          : undefined,
      },
    };
  }
  const code = typeof body?.["error"] === "string" ? body["error"] : "";
  const description = typeof body?.["error_description"] === "string"
    ? body["error_description"].split("\n")[0]!.slice(0, 200)
    : "";
  const said = [code, description].filter((s) => s !== "").join(": ");
  const label = `HTTP ${response.status}${said === "" ? "" : ` ${said}`}`;
  if (response.status === 429 || response.status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    throw new StoreError(
      `Failed to ${context.action} for '${context.remote}': the token endpoint answered ${label}; retry later.`,
      retryAfterMs === undefined ? { transient: true } : { transient: true, retryAfterMs },
    );
  }
  throw new AuthError(
    `Failed to ${context.action} for '${context.remote}': the token endpoint refused it (${label}); ${context.advice}.`,
    { data: { status: response.status, oauthError: code } },
  );
}

/** A JSON object, or undefined for anything else. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}
