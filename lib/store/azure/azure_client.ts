import { randomUUID } from "node:crypto";
import { type DxpError, StoreError } from "../../errors/mod.ts";
import { TokenCache } from "../bearer_token.ts";
import { fetchWithLimits, type HttpLimits } from "../http_fetch.ts";
import { encodeKey, strictEncode } from "../http_values.ts";
import { xmlText } from "../s3/xml.ts";
import { azureResponseError } from "./azure_errors.ts";
import { entraTokenSource } from "./entra.ts";
import type { AzureRemoteConfig } from "./options.ts";
import { sharedKeyAuthorization } from "./shared_key.ts";
import { readErrorText } from "../read_body.ts";

/** The Blob service REST version sent with every request (bearer tokens need ≥ 2017-11-09). */
export const AZURE_API_VERSION = "2021-08-06";

export interface AzureRequest {
  readonly method: "GET" | "HEAD" | "PUT" | "DELETE";
  /** Full blob name (with the remote's prefix); absent for container requests. */
  readonly blob?: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array<ArrayBuffer>;
  readonly signal?: AbortSignal | undefined;
  /** Verb phrase for messages: "upload 'files/md5/ab/cd'". */
  readonly action: string;
  /** Statuses handed back instead of thrown (404 for HEAD/DELETE). */
  readonly pass?: readonly number[];
}

/**
 * Authorised requests to one container: SharedKey signing, SAS query,
 * Entra ID bearer tokens (fetched once per command, renewed when they near
 * expiry or are refused) or nothing; time limits; error answers turned into
 * typed errors. It never retries, except once after a refused bearer token.
 */
export class AzureClient {
  readonly config: AzureRemoteConfig;
  readonly limits: HttpLimits;
  readonly #onDebug: ((line: string) => void) | undefined;
  readonly #tokens: TokenCache | undefined;

  constructor(
    config: AzureRemoteConfig,
    env: Readonly<Record<string, string | undefined>>,
    onDebug?: (line: string) => void,
  ) {
    this.config = config;
    this.#onDebug = onDebug;
    this.limits = {
      connectTimeoutMs: config.connectTimeoutMs,
      readTimeoutMs: config.readTimeoutMs,
      tls: config.tls,
    };
    const auth = config.auth;
    if (auth.kind === "servicePrincipal" || auth.kind === "default") {
      this.#tokens = new TokenCache(
        entraTokenSource(auth, {
          env,
          remote: config.displayUrl,
          limits: this.limits,
          onDebug,
        }),
      );
    }
    onDebug?.(`Azure credentials for ${config.displayUrl}: ${config.authSource}`);
  }

  /** `prefix/key` for a remote-relative key. */
  fullName(key: string): string {
    return this.config.prefix === "" ? key : `${this.config.prefix}/${key}`;
  }

  /** Sends one request; non-2xx answers (other than `pass`) become typed errors. */
  async request(req: AzureRequest): Promise<Response> {
    let { response, token } = await this.#send(req);
    if (token !== undefined && (response.status === 401 || response.status === 403)) {
      const code = response.headers.get("x-ms-error-code") ?? "";
      if (code === "InvalidAuthenticationInfo" || code === "AuthenticationFailed") {
        // The token expired early or was revoked: one new token, one more try.
        await response.body?.cancel();
        this.#tokens?.invalidate(token);
        ({ response } = await this.#send(req));
      }
    }
    if (response.ok || req.pass?.includes(response.status)) return response;
    throw await this.errorFrom(response, req.action);
  }

  /** Reads an error answer's code (header, else XML body) and classifies it. */
  async errorFrom(response: Response, action: string): Promise<DxpError> {
    const text = await readErrorText(response);
    const code = response.headers.get("x-ms-error-code") ?? xmlText(text, "Code") ?? "";
    const message = xmlText(text, "Message")?.split("\n")[0]?.trim();
    return azureResponseError(response.status, code, response.headers.get("retry-after"), {
      action,
      remote: this.config.displayUrl,
      container: this.config.container,
      authSource: this.config.authSource,
      ...(message ? { message } : {}),
    });
  }

  async #send(req: AzureRequest): Promise<{ response: Response; token?: string }> {
    const url = this.#url(req);
    const headers = new Headers(req.headers);
    headers.set("x-ms-version", AZURE_API_VERSION);
    headers.set("x-ms-date", new Date().toUTCString());
    headers.set("x-ms-client-request-id", randomUUID());
    const auth = this.config.auth;
    if (auth.kind === "sharedKey") {
      // Signed as the runtime will send it; fetch sets the header itself from the buffer.
      const signed = new Headers(headers);
      if (req.body !== undefined) signed.set("content-length", String(req.body.byteLength));
      headers.set(
        "authorization",
        sharedKeyAuthorization(req.method, url, signed, auth.account, auth.key),
      );
    }
    const token = await this.#tokens?.get(req.signal);
    if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
    const started = performance.now();
    let response: Response;
    try {
      response = await fetchWithLimits(
        url.href,
        { method: req.method, headers, ...(req.body ? { body: req.body } : {}) },
        this.limits,
        { action: req.action, where: this.config.displayUrl, signal: req.signal },
      );
    } catch (error) {
      throw withoutSas(error);
    }
    this.#onDebug?.(
      `Azure ${req.method} ${this.#shown(req)} -> ${response.status} ` +
        `(${Math.round(performance.now() - started)} ms)`,
    );
    return token === undefined ? { response } : { response, token };
  }

  #url(req: AzureRequest): URL {
    const path = `${this.config.endpoint}/${strictEncode(this.config.container)}` +
      (req.blob === undefined ? "" : `/${encodeKey(req.blob)}`);
    const parts = (req.query ?? []).map(([k, v]) => `${strictEncode(k)}=${strictEncode(v)}`);
    if (this.config.auth.kind === "sas") parts.push(this.config.auth.query);
    return new URL(parts.length === 0 ? path : `${path}?${parts.join("&")}`);
  }

  #shown(req: AzureRequest): string {
    return `azure://${this.config.container}/${req.blob ?? ""}${
      req.query?.length ? "?" + req.query.map(([k]) => k).join("&") : ""
    }`;
  }
}

/**
 * A network error whose text quotes the request URL (some runtimes' fetch
 * does) would show a SAS token's signature: it is masked.
 */
export function withoutSas(error: unknown): unknown {
  if (!(error instanceof StoreError) || !/sig=/i.test(error.message)) return error;
  return new StoreError(error.message.replace(/([?&]sig=)[^&\s)'"]*/gi, "$1***"), {
    transient: error.transient,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    data: error.data,
  });
}
