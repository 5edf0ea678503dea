import type { DxpError } from "../../errors/mod.ts";
import { readBodyText, readErrorText } from "../read_body.ts";
import { StoreError } from "../../errors/mod.ts";
import { abortableSleep } from "../abort.ts";
import { TokenCache } from "../bearer_token.ts";
import { parseRetryAfter } from "../errors.ts";
import { fetchWithLimits, type HttpLimits } from "../http_fetch.ts";
import { strictEncode } from "../http_values.ts";
import { googleErrorDetail } from "../google/error_body.ts";
import { parseJsonObject } from "../oauth_token.ts";
import { gdriveTokens } from "./gdrive_auth.ts";
import { driveResponseError, RATE_LIMIT_REASONS } from "./gdrive_errors.ts";
import type { GDriveRemoteConfig } from "./options.ts";

/** How the client paces itself against Drive's quotas (tests shorten the pauses). */
export interface DrivePacing {
  /** Tries of one request answered with a rate limit (PyDrive2 makes 16). */
  readonly rateLimitTries: number;
  /** Pause before try a+1 is min(base · 1.618^a, 20 s), or the server's Retry-After. */
  readonly rateLimitBaseMs: number;
}

export const DEFAULT_DRIVE_PACING: DrivePacing = { rateLimitTries: 8, rateLimitBaseMs: 500 };

export interface DriveRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** A path under the API URL (`/drive/v2/files`) or an absolute URL (an upload session). */
  readonly path: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array<ArrayBuffer>;
  readonly signal?: AbortSignal | undefined;
  readonly action: string;
  /** Statuses handed back instead of thrown. */
  readonly pass?: readonly number[];
}

/**
 * Requests to the Drive API v2 for one remote: the bearer token (found once
 * per command; renewed before expiry, or once when the API answers 401),
 * Drive's rate-limit answers retried here with PyDrive2's backoff (they are
 * expected, not failures), time limits, and errors turned into typed errors.
 */
export class GDriveClient {
  readonly config: GDriveRemoteConfig;
  readonly limits: HttpLimits;
  readonly pacing: DrivePacing;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #onDebug: ((line: string) => void) | undefined;
  #tokens: Promise<TokenCache> | undefined;
  #credentials = "the credentials";

  constructor(
    config: GDriveRemoteConfig,
    env: Readonly<Record<string, string | undefined>>,
    onDebug?: (line: string) => void,
    pacing: DrivePacing = DEFAULT_DRIVE_PACING,
  ) {
    this.config = config;
    this.#env = env;
    this.#onDebug = onDebug;
    this.pacing = pacing;
    this.limits = {
      connectTimeoutMs: config.connectTimeoutMs,
      readTimeoutMs: config.readTimeoutMs,
      tls: config.tls,
    };
  }

  #cache(): Promise<TokenCache> {
    this.#tokens ??= gdriveTokens(this.config, this.#env, this.limits).then((found) => {
      this.#credentials = found.description;
      this.#onDebug?.(
        `Google Drive credentials for ${this.config.displayUrl}: ${found.description}`,
      );
      return new TokenCache(found.source);
    });
    this.#tokens.catch(() => (this.#tokens = undefined));
    return this.#tokens;
  }

  /** Sends one request; non-2xx answers (other than `pass`) become typed errors. */
  async request(req: DriveRequest): Promise<Response> {
    const tokens = await this.#cache();
    let refreshed = false;
    for (let attempt = 0;; attempt++) {
      const token = await tokens.get(req.signal);
      const response = await this.#send(req, token);
      if (response.status === 401 && !refreshed) {
        // Expired early or revoked: one new token (shared by every request that saw the 401).
        await response.body?.cancel();
        tokens.invalidate(token);
        refreshed = true;
        continue;
      }
      if (response.ok || req.pass?.includes(response.status)) return response;
      const text = await readErrorText(response);
      const { reason } = googleErrorDetail(text);
      const limited = response.status === 429 ||
        (response.status === 403 && RATE_LIMIT_REASONS.has(reason));
      if (limited && attempt + 1 < this.pacing.rateLimitTries) {
        const asked = parseRetryAfter(response.headers.get("retry-after"));
        const pause = Math.min(this.pacing.rateLimitBaseMs * 1.618 ** attempt, 20_000);
        this.#onDebug?.(
          `Google Drive rate limit (${reason || response.status}): waiting ${Math.round(pause)} ms`,
        );
        await abortableSleep(Math.max(pause, Math.min(asked ?? 0, 60_000)), req.signal);
        continue;
      }
      throw this.errorFrom(response.status, text, response.headers.get("retry-after"), req.action);
    }
  }

  /** A request whose 2xx answer is a JSON object. */
  async json(req: DriveRequest): Promise<Record<string, unknown>> {
    const response = await this.request(req);
    const body = parseJsonObject(
      await readBodyText(response, {
        action: req.action,
        where: this.config.displayUrl,
        signal: req.signal,
      }),
    );
    if (body === undefined) {
      throw new StoreError(
        `Could not ${req.action} in '${this.config.displayUrl}': Google Drive's answer is not ` +
          "JSON; retry later.",
        { transient: true },
      );
    }
    return body;
  }

  errorFrom(status: number, text: string, retryAfter: string | null, action: string): DxpError {
    return driveResponseError(status, text, retryAfter, {
      action,
      remote: this.config.displayUrl,
      credentials: this.#credentials,
    });
  }

  async #send(req: DriveRequest, token: string): Promise<Response> {
    const absolute = /^https?:\/\//.test(req.path);
    const url = new URL(absolute ? req.path : `${this.config.apiUrl}${req.path}`);
    const query = (req.query ?? []).map(([k, v]) => `${strictEncode(k)}=${strictEncode(v)}`);
    if (query.length > 0) url.search = (url.search ? `${url.search}&` : "?") + query.join("&");
    const headers = new Headers(req.headers);
    headers.set("authorization", `Bearer ${token}`);
    const started = performance.now();
    const response = await fetchWithLimits(
      url.href,
      { method: req.method, headers, ...(req.body ? { body: req.body } : {}) },
      this.limits,
      { action: req.action, where: this.config.displayUrl, signal: req.signal },
    );
    this.#onDebug?.(
      `GDrive ${req.method} ${absolute ? "<upload session>" : url.pathname} -> ` +
        `${response.status} (${Math.round(performance.now() - started)} ms)`,
    );
    return response;
  }
}
