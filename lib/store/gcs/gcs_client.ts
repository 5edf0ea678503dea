import type { DxpError } from "../../errors/mod.ts";
import { fetchWithLimits, type HttpLimits } from "../http_fetch.ts";
import { strictEncode } from "../http_values.ts";
import { findGcsCredentials, type GcsCredentials } from "./gcs_auth.ts";
import { gcsResponseError } from "./gcs_errors.ts";
import type { GcsRemoteConfig } from "./options.ts";
import { readErrorText } from "../read_body.ts";

export interface GcsRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** A path under the endpoint (`/storage/v1/b/…`) or an absolute URL (a resumable session). */
  readonly path: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array<ArrayBuffer>;
  readonly signal?: AbortSignal | undefined;
  /** Verb phrase for messages: "upload 'files/md5/ab/cd'". */
  readonly action: string;
  /** Statuses handed back instead of thrown (404 for GET/DELETE, 308 for uploads). */
  readonly pass?: readonly number[];
}

/**
 * Requests to the Cloud Storage JSON API for one bucket: the bearer token of
 * the credentials found once per command (renewed before expiry, or once
 * when the API answers 401), time limits, and error answers turned into
 * typed errors. It never retries otherwise.
 */
export class GcsClient {
  readonly config: GcsRemoteConfig;
  readonly limits: HttpLimits;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #onDebug: ((line: string) => void) | undefined;
  #credentials: Promise<GcsCredentials> | undefined;
  #credentialSource = "the credentials";

  constructor(
    config: GcsRemoteConfig,
    env: Readonly<Record<string, string | undefined>>,
    onDebug?: (line: string) => void,
  ) {
    this.config = config;
    this.#env = env;
    this.#onDebug = onDebug;
    this.limits = {
      connectTimeoutMs: config.connectTimeoutMs,
      readTimeoutMs: config.readTimeoutMs,
      tls: config.tls,
    };
  }

  /** `prefix/key` for a remote-relative key. */
  fullName(key: string): string {
    return this.config.prefix === "" ? key : `${this.config.prefix}/${key}`;
  }

  /** `/storage/v1/b/<bucket>/o/<name>` with the name encoded as gcsfs does (`/` too). */
  objectPath(name: string, api: "storage" | "download" = "storage"): string {
    const prefix = api === "download" ? "/download" : "";
    return `${prefix}/storage/v1/b/${strictEncode(this.config.bucket)}/o/${strictEncode(name)}`;
  }

  /** Where the credentials came from (after the first request). */
  get credentialSource(): string {
    return this.#credentialSource;
  }

  credentials(signal?: AbortSignal): Promise<GcsCredentials> {
    this.#credentials ??= findGcsCredentials(
      this.config,
      this.#env,
      this.limits,
      signal,
      this.#onDebug,
    ).then((found) => {
      this.#credentialSource = found.source;
      this.#onDebug?.(`GCS credentials for ${this.config.displayUrl}: ${found.source}`);
      return found;
    });
    this.#credentials.catch(() => (this.#credentials = undefined));
    return this.#credentials;
  }

  /** Sends one request; non-2xx answers (other than `pass`) become typed errors. */
  async request(req: GcsRequest): Promise<Response> {
    const { tokens } = await this.credentials(req.signal);
    let token = await tokens?.get(req.signal);
    let response = await this.#send(req, token);
    if (response.status === 401 && tokens !== undefined && token !== undefined) {
      // Expired early or revoked: one new token (shared by every request that saw the 401).
      await response.body?.cancel();
      tokens.invalidate(token);
      token = await tokens.get(req.signal);
      response = await this.#send(req, token);
    }
    if (response.ok || req.pass?.includes(response.status)) return response;
    throw await this.errorFrom(response, req.action);
  }

  async errorFrom(response: Response, action: string): Promise<DxpError> {
    const text = await readErrorText(response);
    return gcsResponseError(response.status, text, response.headers.get("retry-after"), {
      action,
      remote: this.config.displayUrl,
      credentials: this.#credentialSource,
    });
  }

  async #send(req: GcsRequest, token: string | undefined): Promise<Response> {
    const absolute = /^https?:\/\//.test(req.path);
    const url = new URL(absolute ? req.path : `${this.config.endpoint}${req.path}`);
    const query = (req.query ?? []).map(([k, v]) => `${strictEncode(k)}=${strictEncode(v)}`);
    if (query.length > 0) url.search = (url.search ? `${url.search}&` : "?") + query.join("&");
    const headers = new Headers(req.headers);
    if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
    const started = performance.now();
    const response = await fetchWithLimits(
      url.href,
      { method: req.method, headers, ...(req.body ? { body: req.body } : {}) },
      this.limits,
      // a session URI carries an upload id: messages name the remote instead
      { action: req.action, where: this.config.displayUrl, signal: req.signal },
    );
    this.#onDebug?.(
      `GCS ${req.method} ${absolute ? "<upload session>" : url.pathname} -> ` +
        `${response.status} (${Math.round(performance.now() - started)} ms)`,
    );
    return response;
  }
}
