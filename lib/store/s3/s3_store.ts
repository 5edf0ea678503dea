import { saveResponseBody } from "../http_download.ts";
import { checkKey } from "../http_values.ts";
import { ListingGuard } from "../listing_guard.ts";
import type { Store, StoreContext, StoreFactory, TransferOptions } from "../types.ts";
import { parseS3Remote } from "./options.ts";
import { S3Client, type S3Tuning } from "./s3_client.ts";
import { putObject } from "./s3_put.ts";
import { xmlBlocks, xmlText } from "./xml.ts";
import { discardBody, readBodyText } from "../read_body.ts";

/**
 * A DVC remote on S3 or an S3-compatible server (`s3://bucket[/prefix]`).
 * Objects are written directly at their final key: a single PUT is atomic and
 * a multipart upload becomes visible only at CompleteMultipartUpload.
 */
export class S3Store implements Store {
  readonly canList = true;
  readonly client: S3Client;
  #bucketChecked: Promise<void> | undefined;

  constructor(client: S3Client) {
    this.client = client;
  }

  get displayUrl(): string {
    return this.client.config.displayUrl;
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    checkKey(key);
    const response = await this.client.request({
      method: "HEAD",
      key: this.client.fullKey(key),
      headers: this.client.config.customerKeyHeaders,
      signal,
      action: `check '${key}'`,
      pass: [400, 403, 404],
    });
    await discardBody(response);
    if (response.ok) return true;
    if (response.status === 404) {
      await this.#checkBucket(signal);
      return false;
    }
    // HEAD errors have no body: ask again with a 1-byte GET to learn the error code.
    const probe = await this.client.request({
      method: "GET",
      key: this.client.fullKey(key),
      headers: { ...this.client.config.customerKeyHeaders, range: "bytes=0-0" },
      signal,
      action: `check '${key}'`,
      pass: [404, 416],
    });
    await discardBody(probe);
    return probe.status !== 404;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    const { tuning } = await this.client.settings();
    const root = this.client.fullKey("");
    const fullPrefix = this.client.fullKey(prefix);
    let token: string | undefined;
    const pages = new ListingGuard(`list '${prefix}'`, this.displayUrl);
    do {
      const query: [string, string][] = [
        ["list-type", "2"],
        ["max-keys", String(tuning.listPageSize)],
        ["prefix", fullPrefix],
      ];
      if (token !== undefined) query.push(["continuation-token", token]);
      const response = await this.client.request({
        method: "GET",
        query,
        signal,
        action: `list '${prefix}'`,
      });
      const xml = await readBodyText(response, {
        action: `list '${prefix}'`,
        where: this.displayUrl,
        signal,
      });
      let keys = 0;
      for (const block of xmlBlocks(xml, "Contents")) {
        const key = xmlText(block, "Key");
        keys++;
        if (key !== undefined && key.startsWith(root)) yield key.slice(root.length);
      }
      token = xmlText(xml, "IsTruncated") === "true"
        ? xmlText(xml, "NextContinuationToken")
        : undefined;
      if (token !== undefined && token !== "") pages.next(token, keys);
    } while (token !== undefined && token !== "");
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    await putObject(this.client, key, localPath, options);
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `download '${key}'`;
    const response = await this.client.request({
      method: "GET",
      key: this.client.fullKey(key),
      headers: this.client.config.customerKeyHeaders,
      signal: options.signal,
      action,
    });
    await saveResponseBody(response, localPath, {
      expect: options.expect,
      signal: options.signal,
      onBytes: options.onBytes,
      readTimeoutMs: this.client.limits.readTimeoutMs,
      action,
      where: `${this.displayUrl}/${key}`,
    });
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    checkKey(key);
    const response = await this.client.request({
      method: "DELETE",
      key: this.client.fullKey(key),
      signal,
      action: `delete '${key}'`,
      pass: [404],
    });
    await discardBody(response);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Once per store: a 404 on HEAD cannot tell a missing key from a missing bucket. */
  #checkBucket(signal?: AbortSignal): Promise<void> {
    this.#bucketChecked ??= (async () => {
      const response = await this.client.request({
        method: "GET",
        query: [["list-type", "2"], ["max-keys", "1"], ["prefix", this.client.fullKey("")]],
        signal,
        action: "list the bucket",
        pass: [403], // without s3:ListBucket we cannot tell; the key is simply missing
      });
      await discardBody(response);
    })();
    this.#bucketChecked.catch(() => (this.#bucketChecked = undefined));
    return this.#bucketChecked;
  }
}

/**
 * The StoreFactory for `s3://` remotes (AWS or any S3-compatible server).
 *
 * @example
 * const store = createS3Store("s3://bucket/dvcstore", { endpointurl: "http://127.0.0.1:7480" }, {
 *   env: process.env,
 * });
 * if (!(await store.exists("files/md5/ab/cdef"))) await store.put("files/md5/ab/cdef", path, {});
 */
export const createS3Store: StoreFactory = (url, options, context) =>
  openS3Store(url, options, context);

/** Like createS3Store, with transfer sizes overridable (tests, benchmarks). */
export function openS3Store(
  url: string,
  options: Readonly<Record<string, string>>,
  context: StoreContext,
  tuning: Partial<S3Tuning> = {},
): S3Store {
  const config = parseS3Remote(url, options, context.env);
  return new S3Store(new S3Client(config, context.env, context.onDebug, tuning));
}
