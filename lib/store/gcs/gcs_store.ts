import { StoreError } from "../../errors/mod.ts";
import { discardBody, readBodyText } from "../read_body.ts";
import { saveResponseBody } from "../http_download.ts";
import { checkKey } from "../http_values.ts";
import { parseJsonObject } from "../oauth_token.ts";
import type { Store, StoreContext, StoreFactory, TransferOptions } from "../types.ts";
import { GcsClient } from "./gcs_client.ts";
import { DEFAULT_GCS_TUNING, type GcsTuning, uploadObject } from "./gcs_upload.ts";
import { parseGcsRemote } from "./options.ts";
import { ListingGuard } from "../listing_guard.ts";

/**
 * A DVC remote on Google Cloud Storage (`gs://bucket[/prefix]`) through the
 * JSON API, as gcsfs uses it; also any server implementing that API
 * (`endpointurl`, STORAGE_EMULATOR_HOST). Objects are created whole at their
 * final name (multipart or a finished resumable session), never partially.
 */
export class GcsStore implements Store {
  readonly canList = true;
  readonly client: GcsClient;
  readonly tuning: GcsTuning;
  #bucketChecked: Promise<void> | undefined;

  constructor(client: GcsClient, tuning: GcsTuning) {
    this.client = client;
    this.tuning = tuning;
  }

  get displayUrl(): string {
    return this.client.config.displayUrl;
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    checkKey(key);
    const response = await this.client.request({
      method: "GET",
      path: this.client.objectPath(this.client.fullName(key)),
      signal,
      action: `check '${key}'`,
      pass: [404],
    });
    await discardBody(response);
    if (response.ok) return true;
    await this.#checkBucket(signal);
    return false;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    const root = this.client.fullName("");
    let pageToken: string | undefined;
    const pages = new ListingGuard(`list '${prefix}'`, this.displayUrl);
    do {
      const query: [string, string][] = [
        ["prefix", this.client.fullName(prefix)],
        ["maxResults", String(this.tuning.listPageSize)],
        ["fields", "items(name),nextPageToken"],
      ];
      if (pageToken !== undefined) query.push(["pageToken", pageToken]);
      const response = await this.client.request({
        method: "GET",
        path: `/storage/v1/b/${encodeURIComponent(this.client.config.bucket)}/o`,
        query,
        signal,
        action: `list '${prefix}'`,
        pass: [404],
      });
      const text = await readBodyText(response, {
        action: `list '${prefix}'`,
        where: this.displayUrl,
        signal,
      });
      if (response.status === 404) throw this.#bucketMissing();
      const page = parseJsonObject(text);
      if (page === undefined) {
        throw new StoreError(
          `Could not list '${prefix}' in '${this.displayUrl}': the answer is not JSON; retry later.`,
          { transient: true },
        );
      }
      const items = Array.isArray(page["items"]) ? page["items"] : [];
      for (const item of items) {
        const name = (item as Record<string, unknown>)["name"];
        if (typeof name === "string" && name.startsWith(root)) yield name.slice(root.length);
      }
      const next = page["nextPageToken"];
      pageToken = typeof next === "string" && next !== "" ? next : undefined;
      if (pageToken !== undefined) pages.next(pageToken, items.length);
    } while (pageToken !== undefined);
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    try {
      await uploadObject(this.client, key, localPath, options, this.tuning);
    } catch (error) {
      if (error instanceof StoreError && error.data["status"] === 404) {
        await this.#checkBucket(options.signal);
      }
      throw error;
    }
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `download '${key}'`;
    const response = await this.client.request({
      method: "GET",
      path: this.client.objectPath(this.client.fullName(key), "download"),
      query: [["alt", "media"]],
      signal: options.signal,
      action,
      pass: [404],
    });
    if (response.status === 404) {
      const error = await this.client.errorFrom(response, action);
      await this.#checkBucket(options.signal);
      throw error;
    }
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
      path: this.client.objectPath(this.client.fullName(key)),
      signal,
      action: `delete '${key}'`,
      pass: [404],
    });
    await discardBody(response);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Once per store: the API answers 404 alike for a missing object and a missing bucket. */
  #checkBucket(signal?: AbortSignal): Promise<void> {
    this.#bucketChecked ??= (async () => {
      const response = await this.client.request({
        method: "GET",
        path: `/storage/v1/b/${encodeURIComponent(this.client.config.bucket)}/o`,
        query: [["maxResults", "1"], ["prefix", this.client.fullName("")]],
        signal,
        action: "list the bucket",
        pass: [403, 404], // without storage.objects.list we cannot tell; the key is simply missing
      });
      await discardBody(response);
      if (response.status === 404) throw this.#bucketMissing();
    })();
    this.#bucketChecked.catch(() => (this.#bucketChecked = undefined));
    return this.#bucketChecked;
  }

  #bucketMissing(): StoreError {
    const { bucket, displayUrl } = this.client.config;
    return new StoreError(
      `Bucket '${bucket}' does not exist (remote '${displayUrl}'): create it or fix the ` +
        "remote's URL.",
      // no `status`: a missing bucket must not read as a missing object (isNotFound)
      { data: { httpStatus: 404, remote: displayUrl, bucketMissing: true } },
    );
  }
}

/**
 * The StoreFactory for `gs://` remotes (Google Cloud Storage's JSON API).
 *
 * @example
 * const store = createGcsStore("gs://bucket/dvcstore", { credentialpath: "/keys/sa.json" }, {
 *   env: process.env,
 * });
 * await store.get("files/md5/ab/cdef", ".dvc/cache/files/md5/ab/cdef", { expect });
 */
export const createGcsStore: StoreFactory = (url, options, context) =>
  openGcsStore(url, options, context);

/** Like createGcsStore, with transfer sizes overridable (tests, benchmarks). */
export function openGcsStore(
  url: string,
  options: Readonly<Record<string, string>>,
  context: StoreContext,
  tuning: Partial<GcsTuning> = {},
): GcsStore {
  const config = parseGcsRemote(url, options, context.env);
  return new GcsStore(
    new GcsClient(config, context.env, context.onDebug),
    { ...DEFAULT_GCS_TUNING, ...tuning },
  );
}
