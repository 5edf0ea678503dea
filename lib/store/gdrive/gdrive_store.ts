import { Buffer } from "node:buffer";
import { discardBody, readBodyText } from "../read_body.ts";
import { type FileHandle, open } from "node:fs/promises";
import { CorruptError, StoreError } from "../../errors/mod.ts";
import { storeErrorFromErrno } from "../errors.ts";
import { hashLocalFile, sendResumable } from "../google/resumable.ts";
import { saveResponseBody } from "../http_download.ts";
import { checkKey } from "../http_values.ts";
import { parseJsonObject } from "../oauth_token.ts";
import type { Store, StoreContext, StoreFactory, TransferOptions } from "../types.ts";
import { DEFAULT_DRIVE_PACING, type DrivePacing, GDriveClient } from "./gdrive_client.ts";
import { type DriveItem, DriveTree, FOLDER_MIME } from "./gdrive_tree.ts";
import { parseGDriveRemote } from "./options.ts";

/** Transfer sizes and pacing (tests and benchmarks may change them). */
export interface GDriveTuning extends DrivePacing {
  /** Bytes per resumable-upload chunk (a multiple of 256 KiB). */
  readonly chunkSize: number;
  /** Tries per chunk before the upload fails (then restarts with a new session). */
  readonly chunkAttempts: number;
  readonly chunkRetryBaseMs: number;
}

export const DEFAULT_GDRIVE_TUNING: GDriveTuning = {
  ...DEFAULT_DRIVE_PACING,
  chunkSize: 8 * 1024 * 1024,
  chunkAttempts: 5,
  chunkRetryBaseMs: 500,
};

/**
 * A DVC remote on Google Drive (`gdrive://<folder id>|root|appDataFolder[/path]`)
 * through the Drive API v2, in PyDrive2's folder layout (see DriveTree), so
 * DVC and dxp read each other's pushes. Drive computes each file's md5: an
 * upload whose md5 differs from the local file's is removed again, and a key
 * that already holds the same bytes is not uploaded twice (Drive would keep
 * both copies under one title).
 */
export class GDriveStore implements Store {
  readonly canList = true;
  readonly client: GDriveClient;
  readonly tree: DriveTree;
  readonly tuning: GDriveTuning;

  constructor(client: GDriveClient, tuning: GDriveTuning) {
    this.client = client;
    this.tree = new DriveTree(client);
    this.tuning = tuning;
  }

  get displayUrl(): string {
    return this.client.config.displayUrl;
  }

  /** The Drive path (relative to the URL's root) of a key's folder and its file title. */
  #split(key: string): { folder: string; title: string } {
    const full = this.client.config.base === "" ? key : `${this.client.config.base}/${key}`;
    const slash = full.lastIndexOf("/");
    return { folder: slash < 0 ? "" : full.slice(0, slash), title: full.slice(slash + 1) };
  }

  /** The files (not folders) stored under `key`; duplicates are possible on Drive. */
  async #files(key: string, signal?: AbortSignal): Promise<DriveItem[]> {
    await this.tree.baseIds(signal);
    const { folder, title } = this.#split(key);
    const parents = await this.tree.folderIds(folder, false, signal);
    if (parents.length === 0) return [];
    return (await this.tree.children(parents, title, signal))
      .filter((item) => item.mimeType !== FOLDER_MIME)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    checkKey(key);
    return (await this.#files(key, signal)).length > 0;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    await this.tree.baseIds(signal);
    const { base } = this.client.config;
    const dir = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const start = [base, dir].filter((part) => part !== "").join("/");
    const ids = await this.tree.folderIds(start, false, signal);
    // Breadth first, one query per round over the whole frontier (as PyDrive2's find).
    let frontier = new Map<string, string>(ids.map((id) => [id, dir]));
    const seen = new Set<string>();
    while (frontier.size > 0) {
      const next = new Map<string, string>();
      for (const item of await this.tree.children([...frontier.keys()], undefined, signal)) {
        const parent = item.parents.find((p) => frontier.has(p.id));
        if (parent === undefined) continue;
        const folder = frontier.get(parent.id)!;
        const path = folder === "" ? item.title : `${folder}/${item.title}`;
        if (item.mimeType === FOLDER_MIME) {
          next.set(item.id, path);
          this.tree.remember([base, path].filter((part) => part !== "").join("/"), item.id);
        } else if (path.startsWith(prefix) && !seen.has(path)) {
          seen.add(path);
          yield path;
        }
      }
      frontier = next;
    }
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `upload '${key}'`;
    let handle: FileHandle;
    try {
      handle = await open(localPath, "r");
    } catch (error) {
      throw storeErrorFromErrno(error, { action: "read the file to upload", where: localPath });
    }
    try {
      const size = (await handle.stat()).size;
      const hashes = await hashLocalFile(handle, size, localPath, options);
      if (options.expect && hashes.expect !== options.expect.hash) {
        throw new CorruptError(
          `Refusing to upload '${localPath}' as '${key}': its content hashes to ` +
            `'${hashes.expect}', not '${options.expect.hash}'; the local cache file is corrupt.`,
          { data: { expected: options.expect.hash, actual: hashes.expect } },
        );
      }
      const md5 = hashes.md5.toString("hex");
      await this.tree.baseIds(options.signal);
      const { folder, title } = this.#split(key);
      const parents = await this.tree.folderIds(folder, true, options.signal);
      const existing = (await this.tree.children(parents, title, options.signal))
        .filter((item) => item.mimeType !== FOLDER_MIME);
      if (existing.some((item) => item.md5Checksum === md5)) {
        options.onBytes?.(size); // already there, byte for byte
        return;
      }
      const session = await this.#startUpload(
        title,
        [...parents].sort()[0]!,
        size,
        options,
        action,
      );
      const done = await sendResumable({
        session,
        handle,
        localPath,
        size,
        chunkSize: this.tuning.chunkSize,
        attempts: this.tuning.chunkAttempts,
        retryBaseMs: this.tuning.chunkRetryBaseMs,
        signal: options.signal,
        onBytes: options.onBytes,
        action,
        remote: this.displayUrl,
        request: (req) => this.client.request(req),
      });
      const created = parseJsonObject(
        await readBodyText(done, { action, where: this.displayUrl, signal: options.signal }),
      );
      const id = created?.["id"];
      if (created?.["md5Checksum"] !== md5) {
        if (typeof id === "string") await this.#remove(id, false, options.signal).catch(() => {});
        throw new StoreError(
          `Could not ${action} in '${this.displayUrl}': Google Drive computed md5 ` +
            `'${String(created?.["md5Checksum"])}' for it, not '${md5}'; retry later.`,
          { transient: true },
        );
      }
      // A wrong copy left by an earlier upload goes, so the key holds one good file.
      for (const stale of existing) {
        await this.#remove(stale.id, this.client.config.trashOnly, options.signal);
      }
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Starts a resumable insert (D4): the session URI. */
  async #startUpload(
    title: string,
    parent: string,
    size: number,
    options: TransferOptions,
    action: string,
  ): Promise<string> {
    const started = await this.client.request({
      method: "POST",
      path: "/upload/drive/v2/files",
      query: [["uploadType", "resumable"], ["supportsAllDrives", "true"], ["alt", "json"]],
      headers: {
        "content-type": "application/json; charset=UTF-8",
        "x-upload-content-type": "application/octet-stream",
        "x-upload-content-length": String(size),
      },
      body: new Uint8Array(Buffer.from(JSON.stringify({ title, parents: [{ id: parent }] }))),
      signal: options.signal,
      action,
    });
    await discardBody(started);
    const session = started.headers.get("location");
    if (!session) {
      throw new StoreError(
        `Could not ${action} in '${this.displayUrl}': Google Drive started no upload session; ` +
          "retry later.",
        { transient: true },
      );
    }
    return session;
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    checkKey(key);
    const action = `download '${key}'`;
    const files = await this.#files(key, options.signal);
    if (files.length === 0) {
      throw new StoreError(
        `Could not ${action} in '${this.displayUrl}': it does not exist.`,
        { data: { status: 404, notFound: true } },
      );
    }
    // With duplicates, the copy whose md5 Drive reports as the expected one.
    const expected = options.expect?.scheme === "md5" ? options.expect.hash : undefined;
    const file = files.find((item) => item.md5Checksum === expected) ?? files[0]!;
    const response = await this.client.request({
      method: "GET",
      path: `/drive/v2/files/${encodeURIComponent(file.id)}`,
      query: [
        ["alt", "media"],
        ["acknowledgeAbuse", String(this.client.config.acknowledgeAbuse)],
      ],
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
    for (const file of await this.#files(key, signal)) {
      await this.#remove(file.id, this.client.config.trashOnly, signal);
    }
  }

  /** Moves a file to the trash (gdrive_trash_only) or deletes it for good. */
  async #remove(id: string, trash: boolean, signal?: AbortSignal): Promise<void> {
    const response = await this.client.request({
      method: trash ? "POST" : "DELETE",
      path: `/drive/v2/files/${encodeURIComponent(id)}${trash ? "/trash" : ""}`,
      query: [["supportsAllDrives", "true"]],
      signal,
      action: `${trash ? "trash" : "delete"} file '${id}'`,
      pass: [404],
    });
    await discardBody(response);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The StoreFactory for `gdrive://` remotes.
 *
 * @example
 * const store = createGDriveStore("gdrive://1AbCdEfG/dvcstore", {
 *   gdrive_use_service_account: "true",
 *   gdrive_service_account_json_file_path: "/keys/sa.json",
 * }, { env: process.env });
 */
export const createGDriveStore: StoreFactory = (url, options, context) =>
  openGDriveStore(url, options, context);

/** Like createGDriveStore, with transfer sizes and pacing overridable (tests). */
export function openGDriveStore(
  url: string,
  options: Readonly<Record<string, string>>,
  context: StoreContext,
  tuning: Partial<GDriveTuning> = {},
): GDriveStore {
  const config = parseGDriveRemote(url, options, context.env);
  const full = { ...DEFAULT_GDRIVE_TUNING, ...tuning };
  return new GDriveStore(new GDriveClient(config, context.env, context.onDebug, full), full);
}
