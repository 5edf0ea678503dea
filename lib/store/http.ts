import { open } from "node:fs/promises";
import { CorruptError, StoreError } from "../errors/mod.ts";
import { createObjectHasher } from "../util/object_hasher.ts";
import { abortError } from "./abort.ts";
import { storeErrorFromErrno, storeErrorFromStatus } from "./errors.ts";
import { saveResponseBody } from "./http_download.ts";
import { fetchWithLimits } from "./http_fetch.ts";
import { type HttpRemoteConfig, parseHttpRemote } from "./http_options.ts";
import { fileBody } from "./http_upload_body.ts";
import { checkKey, encodeKey } from "./http_values.ts";
import type { Store, StoreFactory, TransferOptions } from "./types.ts";

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
    await response.arrayBuffer();
    if (response.status === 405 || response.status === 501) {
      // Some servers only GET: ask for the first byte.
      response = await this.#request("GET", key, {
        signal,
        action,
        headers: { range: "bytes=0-0" },
      });
      await response.arrayBuffer();
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
      await response.arrayBuffer();
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
      await response.arrayBuffer().catch(() => {});
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
    await response.arrayBuffer();
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
    const started = performance.now();
    const init: RequestInit & { duplex?: "half" } = {
      method,
      headers: { ...request.headers, ...this.config.authHeaders },
      redirect: "follow",
    };
    if (request.body !== undefined) {
      init.body = request.body;
      if (request.body instanceof ReadableStream) init.duplex = "half";
    }
    const response = await fetchWithLimits(this.#url(key), init, this.config.limits, {
      action: request.action,
      where: `${this.config.displayBase}/${key}`,
      signal: request.signal,
    });
    this.#onDebug?.(
      `HTTP ${method} ${this.config.displayBase}/${key} -> ${response.status} ` +
        `(${Math.round(performance.now() - started)} ms)`,
    );
    return response;
  }

  #error(response: Response, action: string, key: string) {
    return storeErrorFromStatus(response.status, {
      action,
      where: `${this.config.displayBase}/${key}`,
      retryAfter: response.headers.get("retry-after"),
    });
  }
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
