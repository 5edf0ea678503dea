import { Buffer } from "node:buffer";
import { readBodyText } from "../read_body.ts";
import { StoreError } from "../../errors/mod.ts";
import type { GDriveClient } from "./gdrive_client.ts";
import { ListingGuard } from "../listing_guard.ts";

export const FOLDER_MIME = "application/vnd.google-apps.folder";

/** The fields of a Drive v2 File resource the store reads. */
export interface DriveItem {
  readonly id: string;
  readonly title: string;
  readonly mimeType: string;
  /** Decimal string (v2). */
  readonly fileSize?: string;
  readonly md5Checksum?: string;
  readonly parents: readonly { readonly id: string }[];
}

const LIST_FIELDS = "nextPageToken,items(id,title,mimeType,fileSize,md5Checksum,parents(id))";
/** Parent ids ORed in one query: keeps the URL far below Google's 2048-character limit. */
const PARENTS_PER_QUERY = 20;

/** A Drive query string literal: `\` and `'` escaped (Drive's query grammar). */
export function quoteTitle(title: string): string {
  return `'${title.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function inParents(ids: readonly string[]): string {
  return `(${ids.map((id) => `${quoteTitle(id)} in parents`).join(" or ")})`;
}

/**
 * The folder tree of a Drive remote, as PyDrive2 lays it out: every path
 * component is a folder whose title is the component, the last one a file
 * titled with the rest of the object name. Drive allows several items with
 * one title, and two machines pushing at once can leave duplicate folders:
 * a path maps to all its folder ids, every query ORs over all of them (so
 * objects under any duplicate are found), and a new folder goes into the
 * lexicographically smallest parent id — exactly what DVC does, so both see
 * the same objects. Resolved folders (and absent ones) are remembered for
 * the command; folders are created one at a time per path.
 */
export class DriveTree {
  readonly #client: GDriveClient;
  readonly #folders = new Map<string, Promise<string[]>>();
  readonly #creating = new Map<string, Promise<string[]>>();
  #listParams: Promise<[string, string][]> | undefined;

  constructor(client: GDriveClient) {
    this.#client = client;
  }

  get #config() {
    return this.#client.config;
  }

  /** `corpora`/`driveId` (shared drives, found once with files.get?fields=driveId) and friends. */
  listParams(signal?: AbortSignal): Promise<[string, string][]> {
    this.#listParams ??= (async (): Promise<[string, string][]> => {
      const { root } = this.#config;
      const common: [string, string][] = [
        ["supportsAllDrives", "true"],
        ["includeItemsFromAllDrives", "true"],
      ];
      if (root === "root") return [["corpora", "default"], ...common];
      if (root === "appDataFolder") {
        return [["corpora", "default"], ["spaces", "appDataFolder"], ...common];
      }
      const response = await this.#client.request({
        method: "GET",
        path: `/drive/v2/files/${encodeURIComponent(root)}`,
        query: [["fields", "driveId"], ["supportsAllDrives", "true"]],
        signal,
        action: `open folder '${root}'`,
        pass: [404],
      });
      const text = await readBodyText(response, {
        action: `open folder '${root}'`,
        where: this.#config.displayUrl,
        signal,
      });
      if (response.status === 404) throw this.#inaccessible(this.#config.displayUrl);
      const driveId = (JSON.parse(text) as Record<string, unknown>)["driveId"];
      return typeof driveId === "string" && driveId !== ""
        ? [["corpora", "drive"], ["driveId", driveId], ...common]
        : [["corpora", "default"], ...common];
    })();
    this.#listParams.catch(() => (this.#listParams = undefined));
    return this.#listParams;
  }

  /**
   * Every item (not trashed) in the folders `parentIds`, optionally only those
   * titled `title` exactly (Drive matches titles case-insensitively).
   */
  async children(
    parentIds: readonly string[],
    title: string | undefined,
    signal?: AbortSignal,
  ): Promise<DriveItem[]> {
    const out: DriveItem[] = [];
    for (let i = 0; i < parentIds.length; i += PARENTS_PER_QUERY) {
      let q = `trashed=false and ${inParents(parentIds.slice(i, i + PARENTS_PER_QUERY))}`;
      if (title !== undefined) q += ` and title=${quoteTitle(title)}`;
      for await (const item of this.#query(q, signal)) {
        if (title === undefined || item.title === title) out.push(item);
      }
    }
    return out;
  }

  async *#query(q: string, signal?: AbortSignal): AsyncGenerator<DriveItem> {
    const params = await this.listParams(signal);
    let pageToken: string | undefined;
    const pages = new ListingGuard("list a folder", this.#config.displayUrl);
    do {
      const query: [string, string][] = [
        ["q", q],
        ["maxResults", "1000"],
        ...params,
        ["fields", LIST_FIELDS],
      ];
      if (pageToken !== undefined) query.push(["pageToken", pageToken]);
      const page = await this.#client.json({
        method: "GET",
        path: "/drive/v2/files",
        query,
        signal,
        action: "list a folder",
      });
      const items = Array.isArray(page["items"]) ? page["items"] : [];
      for (const item of items) {
        const parsed = asItem(item);
        if (parsed !== undefined) yield parsed;
      }
      const next = page["nextPageToken"];
      pageToken = typeof next === "string" && next !== "" ? next : undefined;
      if (pageToken !== undefined) pages.next(pageToken, items.length);
    } while (pageToken !== undefined);
  }

  /**
   * The ids of the folder at `path` (relative to the URL's root, `/`-separated;
   * "" is the root itself), [] when it does not exist and `create` is false.
   */
  folderIds(path: string, create: boolean, signal?: AbortSignal): Promise<string[]> {
    if (path === "") return Promise.resolve([this.#config.root]);
    const known = this.#folders.get(path);
    if (known !== undefined) {
      return known.then((ids) => (ids.length > 0 || !create ? ids : this.#create(path, signal)));
    }
    const found = (async () => {
      const slash = path.lastIndexOf("/");
      const parent = await this.folderIds(slash < 0 ? "" : path.slice(0, slash), create, signal);
      if (parent.length === 0) return [];
      const items = await this.children(parent, path.slice(slash + 1), signal);
      const ids = items.filter((item) => item.mimeType === FOLDER_MIME).map((item) => item.id)
        .sort();
      return ids.length > 0 || !create ? ids : await this.#create(path, signal);
    })();
    this.#folders.set(path, found);
    found.catch(() => {
      if (this.#folders.get(path) === found) this.#folders.delete(path);
    });
    return found;
  }

  /** Remembers folders met while walking the tree (list), so later lookups cost nothing. */
  remember(path: string, id: string): void {
    const known = this.#folders.get(path);
    this.#folders.set(
      path,
      (known ?? Promise.resolve([])).then((ids) => [...new Set([...ids, id])].sort()),
    );
  }

  /** Creates one folder for `path` (re-checking first), in the parent with the smallest id. */
  #create(path: string, signal?: AbortSignal): Promise<string[]> {
    const pending = this.#creating.get(path);
    if (pending !== undefined) return pending;
    const created = (async () => {
      const slash = path.lastIndexOf("/");
      const title = path.slice(slash + 1);
      const parent = await this.folderIds(slash < 0 ? "" : path.slice(0, slash), true, signal);
      const again = (await this.children(parent, title, signal))
        .filter((item) => item.mimeType === FOLDER_MIME).map((item) => item.id).sort();
      if (again.length > 0) return again;
      const folder = await this.#client.json({
        method: "POST",
        path: "/drive/v2/files",
        query: [["supportsAllDrives", "true"]],
        headers: { "content-type": "application/json; charset=UTF-8" },
        body: new Uint8Array(Buffer.from(JSON.stringify({
          title,
          parents: [{ id: [...parent].sort()[0]! }],
          mimeType: FOLDER_MIME,
        }))),
        signal,
        action: `create folder '${path}'`,
      });
      const id = folder["id"];
      if (typeof id !== "string") {
        throw new StoreError(
          `Could not create folder '${path}' in '${this.#config.displayUrl}': Google Drive ` +
            "returned no id; retry later.",
          { transient: true },
        );
      }
      return [id];
    })();
    this.#creating.set(path, created);
    const done = () => void this.#creating.delete(path);
    created.then(done, done);
    this.#folders.set(path, created);
    created.catch(() => {
      if (this.#folders.get(path) === created) this.#folders.delete(path);
    });
    return created;
  }

  #inaccessible(what: string): StoreError {
    return new StoreError(
      `Confirm '${what}' exists and you can access it: Google Drive does not show it to ` +
        "these credentials (share the folder with the account, or fix the remote's URL).",
      { data: { folderMissing: true, remote: this.#config.displayUrl } },
    );
  }

  /** The folder ids of the remote's base path (which must exist, as in DVC). */
  async baseIds(signal?: AbortSignal): Promise<string[]> {
    const ids = await this.folderIds(this.#config.base, false, signal);
    if (ids.length === 0) throw this.#inaccessible(this.#config.displayUrl);
    return ids;
  }
}

function asItem(value: unknown): DriveItem | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record["id"] !== "string" || typeof record["title"] !== "string") return undefined;
  return {
    id: record["id"],
    title: record["title"],
    mimeType: typeof record["mimeType"] === "string" ? record["mimeType"] : "",
    ...(typeof record["fileSize"] === "string" ? { fileSize: record["fileSize"] } : {}),
    ...(typeof record["md5Checksum"] === "string" ? { md5Checksum: record["md5Checksum"] } : {}),
    parents: Array.isArray(record["parents"])
      ? record["parents"].filter((p): p is { id: string } =>
        typeof p === "object" && p !== null && typeof (p as { id?: unknown }).id === "string"
      )
      : [],
  };
}
