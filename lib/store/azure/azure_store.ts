import { saveResponseBody } from "../http_download.ts";
import { discardBody, readBodyText } from "../read_body.ts";
import { checkKey } from "../http_values.ts";
import { xmlBlocks, xmlText } from "../s3/xml.ts";
import type { Store, StoreContext, StoreFactory, TransferOptions } from "../types.ts";
import { AzureClient, withoutSas } from "./azure_client.ts";
import { azureResponseError } from "./azure_errors.ts";
import { type AzureTuning, DEFAULT_AZURE_TUNING, putBlob } from "./azure_put.ts";
import { parseAzureRemote } from "./options.ts";
import { ListingGuard } from "../listing_guard.ts";

/**
 * A DVC remote on Azure Blob Storage (`azure://container[/prefix]`), also
 * Azurite. Objects are block blobs written directly at their final name: a
 * Put Blob is atomic and a block upload becomes visible only at Put Block List.
 */
export class AzureStore implements Store {
  readonly canList = true;
  readonly client: AzureClient;
  readonly tuning: AzureTuning;

  constructor(client: AzureClient, tuning: AzureTuning) {
    this.client = client;
    this.tuning = tuning;
  }

  get displayUrl(): string {
    return this.client.config.displayUrl;
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    checkKey(key);
    const action = `check '${key}'`;
    const response = await this.client.request({
      method: "HEAD",
      blob: this.client.fullName(key),
      signal,
      action,
      pass: [404],
    });
    await discardBody(response);
    if (response.ok) return true;
    // HEAD answers have no body, but the service names the error in a header.
    const code = response.headers.get("x-ms-error-code") ?? "";
    if (code === "ContainerNotFound") throw this.#error(404, code, action);
    return false;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    const root = this.client.fullName("");
    let marker: string | undefined;
    const pages = new ListingGuard(`list '${prefix}'`, this.displayUrl);
    do {
      const query: [string, string][] = [
        ["restype", "container"],
        ["comp", "list"],
        ["prefix", this.client.fullName(prefix)],
        ["maxresults", String(this.tuning.listPageSize)],
      ];
      if (marker !== undefined) query.push(["marker", marker]);
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
      let names = 0;
      for (const block of xmlBlocks(xml, "Blob")) {
        const name = xmlText(block, "Name");
        names++;
        if (name !== undefined && name.startsWith(root)) yield name.slice(root.length);
      }
      marker = xmlText(xml, "NextMarker");
      if (marker !== undefined && marker !== "") pages.next(marker, names);
    } while (marker !== undefined && marker !== "");
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    await putBlob(this.client, key, localPath, options, this.tuning);
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `download '${key}'`;
    const response = await this.client.request({
      method: "GET",
      blob: this.client.fullName(key),
      signal: options.signal,
      action,
    });
    try {
      await saveResponseBody(response, localPath, {
        expect: options.expect,
        signal: options.signal,
        onBytes: options.onBytes,
        readTimeoutMs: this.client.limits.readTimeoutMs,
        action,
        where: `${this.displayUrl}/${key}`,
      });
    } catch (error) {
      throw withoutSas(error);
    }
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    checkKey(key);
    const action = `delete '${key}'`;
    const response = await this.client.request({
      method: "DELETE",
      blob: this.client.fullName(key),
      signal,
      action,
      pass: [404],
    });
    await discardBody(response);
    const code = response.headers.get("x-ms-error-code") ?? "";
    if (code === "ContainerNotFound") throw this.#error(404, code, action);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #error(status: number, code: string, action: string) {
    const { config } = this.client;
    return azureResponseError(status, code, null, {
      action,
      remote: config.displayUrl,
      container: config.container,
      authSource: config.authSource,
    });
  }
}

/**
 * The StoreFactory for `azure://` remotes (Azure Blob Storage, Azurite).
 *
 * @example
 * const store = createAzureStore("azure://container/dvcstore", {
 *   connection_string: process.env.AZURE_STORAGE_CONNECTION_STRING!,
 * }, { env: process.env });
 * if (!(await store.exists("files/md5/ab/cdef"))) await store.put("files/md5/ab/cdef", path, {});
 */
export const createAzureStore: StoreFactory = (url, options, context) =>
  openAzureStore(url, options, context);

/** Like createAzureStore, with transfer sizes overridable (tests, benchmarks). */
export function openAzureStore(
  url: string,
  options: Readonly<Record<string, string>>,
  context: StoreContext,
  tuning: Partial<AzureTuning> = {},
): AzureStore {
  const config = parseAzureRemote(url, options, context.env);
  return new AzureStore(
    new AzureClient(config, context.env, context.onDebug),
    { ...DEFAULT_AZURE_TUNING, ...tuning },
  );
}
