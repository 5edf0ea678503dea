import { open } from "node:fs/promises";
import { CorruptError, StoreError } from "../errors/mod.ts";
import { createObjectHasher } from "../util/object_hasher.ts";
import { abortError } from "./abort.ts";
import { storeErrorFromErrno, storeErrorFromStatus } from "./errors.ts";
import { saveResponseBody } from "./http_download.ts";
import { fetchWithLimits } from "./http_fetch.ts";
import { redactUrl } from "../util/redact.ts";
import { type HttpRemoteConfig, parseHttpRemote } from "./http_options.ts";
import { fileBody } from "./http_upload_body.ts";
import { checkKey, encodeKey } from "./http_values.ts";
import type { Store, StoreFactory, TransferOptions } from "./types.ts";
import { discardBody } from "./read_body.ts";

/**
 * A DVC HTTP(S) remote: any server that serves objects with GET/HEAD and
 * accepts uploads with POST (or PUT, for Artifactory) at
 * `<url>/files/md5/ab/cdef…`. It cannot list, so every existence check is a
 * request. Uploads are verified against `expect` before anything is sent.
 */
export class HttpStore implements Store {
  readonly canList = false;
  readonly config: HttpRemoteConfig;
  readonly #onDebug: ((line: string) => void) | undefined;

  constructor(config: HttpRemoteConfig, onDebug?: (line: string) => void) {
    this.config = config;
    this.#onDebug = onDebug;
  }

  get displayUrl(): string {
    return this.config.displayUrl;
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    checkKey(key);
    const action = `check '${key}'`;
    let response = await this.#request("HEAD", key, { signal, action });
    await discardBody(response);
    if (response.status === 405 || response.status === 501) {
      // Some servers only GET: ask for the first byte.
      response = await this.#request("GET", key, {
        signal,
        action,
        headers: { range: "bytes=0-0" },
      });
      await discardBody(response);
    }
    if (response.ok) return true;
    if (response.status === 404 || response.status === 410) return false;
    throw this.#error(response, action, key);
  }

  // deno-lint-ignore require-yield
  async *list(_prefix: string, _signal?: AbortSignal): AsyncIterable<string> {
    throw new StoreError(
      `HTTP remote '${this.displayUrl}' cannot list its objects; check objects one by one.`,
    );
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `upload '${key}'`;
    let handle;
    try {
      handle = await open(localPath, "r");
    } catch (error) {
      throw storeErrorFromErrno(error, { action: "read the file to upload", where: localPath });
    }
    try {
      const { body } = await fileBody(handle, localPath, options.onBytes);
      if (options.expect) {
        const hasher = createObjectHasher(options.expect.scheme);
        await body.hashInto(hasher);
        const actual = hasher.digest();
        if (actual !== options.expect.hash) {
          throw new CorruptError(
            `Refusing to upload '${localPath}' as '${key}': its content hashes to '${actual}', ` +
              `not '${options.expect.hash}'; the local cache file is corrupt.`,
            { data: { expected: options.expect.hash, actual } },
          );
        }
      }
      const response = await this.#request(this.config.method, key, {
        signal: options.signal,
        action,
        body: body.forFetch(),
        headers: { "content-type": "application/octet-stream" },
      });
      await discardBody(response);
      if (!response.ok) throw this.#error(response, action, key);
      if (!body.streamed) options.onBytes?.((await handle.stat()).size);
    } finally {
      await handle.close().catch(() => {});
    }
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `download '${key}'`;
    const response = await this.#request("GET", key, { signal: options.signal, action });
    if (!response.ok) {
      await discardBody(response);
      throw this.#error(response, action, key);
    }
    await saveResponseBody(response, localPath, {
      expect: options.expect,
      signal: options.signal,
      onBytes: options.onBytes,
      readTimeoutMs: this.config.limits.readTimeoutMs,
      action,
      where: `${this.config.displayBase}/${key}`,
    });
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    checkKey(key);
    const action = `delete '${key}'`;
    const response = await this.#request("DELETE", key, { signal, action });
    await discardBody(response);
    if (response.ok || response.status === 404 || response.status === 410) return;
    throw this.#error(response, action, key);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #url(key: string): string {
    return `${this.config.base}/${encodeKey(key)}${this.config.query}`;
  }

  async #request(
    method: string,
    key: string,
    request: {
      signal: AbortSignal | undefined;
      action: string;
      headers?: Record<string, string>;
      body?: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>>;
    },
  ): Promise<Response> {
    if (request.signal?.aborted) throw abortError(request.signal);
    const where = `${this.config.displayBase}/${key}`;
    let url = new URL(this.#url(key));
    let headers = { ...request.headers, ...this.config.authHeaders };
    for (let hops = 0;; hops++) {
      const started = performance.now();
      const init: RequestInit & { duplex?: "half" } = { method, headers };
      if (request.body !== undefined) {
        init.body = request.body;
        if (request.body instanceof ReadableStream) init.duplex = "half";
      }
      const response = await fetchWithLimits(url.href, init, this.config.limits, {
        action: request.action,
        where,
        signal: request.signal,
      });
      this.#onDebug?.(
        `HTTP ${method} ${hops === 0 ? where : shownUrl(url)} -> ${response.status} ` +
          `(${Math.round(performance.now() - started)} ms)`,
      );
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || location === null) return response;
      // Downloads and checks follow redirects as DVC's HTTP client does; an
      // upload's body cannot be sent again, so its redirect is an error.
      if (method !== "GET" && method !== "HEAD") return response;
      await discardBody(response);
      const next = redirectTarget(url, location, hops, request.action, where);
      // Credentials are for the remote's own server only (requests drops them too).
      if (next.origin !== url.origin) headers = { ...request.headers };
      url = next;
    }
  }

  #error(response: Response, action: string, key: string) {
    return storeErrorFromStatus(response.status, {
      action,
      where: `${this.config.displayBase}/${key}`,
      retryAfter: response.headers.get("retry-after"),
    });
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** A URL for messages: no user info, no query (either may hold a secret). */
function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Where a redirect leads, refused unless it is another http(s) URL: never a
 * `file://` or other scheme, never from https down to http, at most
 * {@link MAX_REDIRECTS} hops.
 */
function redirectTarget(from: URL, location: string, hops: number, action: string, where: string) {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new StoreError(
      `Failed to ${action} at '${redactUrl(where)}': the server redirects to an invalid URL; ` +
        "check the remote's URL.",
    );
  }
  const refuse = (why: string) =>
    new StoreError(
      `Failed to ${action} at '${redactUrl(where)}': the server redirects to ` +
        `'${shownUrl(next)}', ${why}; check the remote's URL.`,
      { data: { where: redactUrl(where), redirect: shownUrl(next) } },
    );
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw refuse("which is not an http(s) URL");
  }
  if (from.protocol === "https:" && next.protocol === "http:") {
    throw refuse("which would drop TLS");
  }
  if (hops >= MAX_REDIRECTS) throw refuse(`after ${MAX_REDIRECTS} redirects already`);
  return next;
}

/**
 * The StoreFactory for `http://` and `https://` remotes.
 *
 * @example
 * const store = createHttpStore("https://artifacts.example.com/dvc", { method: "PUT" }, { env: {} });
 * await store.get("files/md5/ab/cdef", ".dvc/cache/files/md5/ab/cdef", { expect });
 */
export const createHttpStore: StoreFactory = (url, options, context) =>
  new HttpStore(parseHttpRemote(url, options), context.onDebug);
