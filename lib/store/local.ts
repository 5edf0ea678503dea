import { lstatSync } from "node:fs";
import { lstat, opendir, unlink } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, UnsafePathError } from "../errors/mod.ts";
import { AbsentFolders } from "./absent_folders.ts";
import { errnoCode, storeErrorFromErrno } from "./errors.ts";
import { dirMakerSync } from "./local_dirs.ts";
import { readSmallSync, writeSmallSync } from "./local_small.ts";
import { StagedFolders } from "./local_staging.ts";
import { throwIfAborted } from "./abort.ts";
import { CopyHelper } from "./copy_helper.ts";
import { copyFileAtomic } from "./local_copy.ts";
import { checkLocalObject, isProtectedMode } from "./local_verify.ts";
import { isTempName } from "./local_write.ts";
import { parseObjectKey } from "../core/object_key.ts";
import type { SmallObjects, Store, StoreFactory, TransferOptions } from "./types.ts";
import { isRegularFile, quickLstat } from "../util/quick_lstat.ts";

/** Options of a local-folder store beyond its root. */
export interface LocalStoreOptions {
  /** `cache.shared = group`: folders are created `02775` (spec §4.5). */
  readonly shared?: boolean;
}

/**
 * A DVC remote (or cache) that is a folder on a mounted file system, local
 * disk or an HPC shared file system alike. Files are written through a temp
 * file in their destination folder, hashed while they stream, and renamed
 * into place. Objects (`files/md5/…`, legacy `ab/…`) are made read-only
 * (0444); one already there with mode 0444 is left alone, one with another
 * mode is replaced. Other keys (`runs/…`) are plain files, overwritten.
 *
 * `url` is an absolute path or a `file://` URL; the section option
 * `shared = group` selects group-shared folder modes.
 *
 * @example
 * const store = createLocalStore("/mnt/dvcstore", {}, { env: {} });
 * await store.put("files/md5/37/b51d194a7513e45b56f6524f2d51f2", "bar", {});
 */
export const createLocalStore: StoreFactory = (url, options) =>
  openLocalStore(localRoot(url), { shared: options["shared"] === "group" });

/** Opens a local-folder store at an absolute `root`. */
export function openLocalStore(root: string, options: LocalStoreOptions = {}): Store {
  return new LocalStore(root, options);
}

function localRoot(url: string): string {
  const path = url.startsWith("file:") ? fileURLToPath(url) : url;
  if (!isAbsolute(path)) {
    throw new ConfigError(
      `The local remote path '${url}' is not absolute; resolve it against its config file first.`,
    );
  }
  return normalize(path);
}

class LocalStore implements Store {
  readonly displayUrl: string;
  /**
   * Listing would bypass DVC's integrity rule for local remotes (an object
   * not in mode 0444 must be re-hashed, §4.4.3), and a stat is as cheap as a
   * listing entry on a local file system, so existence is asked per key.
   */
  readonly canList = false;
  readonly #root: string;
  readonly #ensureDirSync: (dir: string) => void;
  /** Object folders seen missing: an empty remote answers exists() with one lstat per folder. */
  readonly #absent = new AbsentFolders();
  /** Object folders being filled under a hidden name by small.writeSync. */
  readonly #staged: StagedFolders;
  /** The thread that copies and hashes large objects beside the main thread. */
  readonly #copier = new CopyHelper();

  constructor(root: string, options: LocalStoreOptions) {
    this.#root = root;
    this.displayUrl = root;
    this.#ensureDirSync = dirMakerSync(options.shared ? 0o2775 : undefined);
    this.#staged = new StagedFolders(this.#ensureDirSync);
  }

  readonly small: SmallObjects = {
    existsSync: (key) => {
      // Object keys only (one regex, no parsed copy: this runs once per object).
      if (sep !== "/" || !OBJECT_KEY.test(key)) return undefined;
      const path = this.#path(key);
      if (this.#absent.holds(path)) return false;
      try {
        const info = quickLstat(path);
        if (info === undefined) return false;
        return isRegularFile(info) && isProtectedMode(info.mode) ? true : undefined;
      } catch {
        return undefined; // unreadable: exists() says why
      }
    },
    readSync: (key, size) => {
      const path = this.#path(key);
      return readSmallSync(
        path,
        { action: `download '${key}' from '${this.#root}'`, where: path },
        size,
      );
    },
    writeSync: (key, bytes, request) => {
      const target = this.#path(key);
      const slash = target.lastIndexOf(sep);
      const folder = target.slice(0, slash);
      const context = {
        action: request.from === undefined
          ? `write '${target}'`
          : `upload '${request.from}' to '${target}'`,
        where: target,
      };
      const options = {
        expect: request.expect,
        fileMode: 0o444,
        ensureDirSync: this.#ensureDirSync,
        context,
        sourceLabel: request.sourceLabel,
      };
      // An object folder missing at first look is filled under a hidden name and
      // published whole: no rename per object.
      if (this.#staged.has(folder) || this.#absent.holds(target)) {
        let hidden;
        try {
          hidden = this.#staged.hiddenFor(folder);
        } catch (error) {
          throw storeErrorFromErrno(error, context);
        }
        writeSmallSync(hidden + target.slice(slash), bytes, { ...options, inPlace: true });
        return;
      }
      // A folder missing when first looked at holds only what this store wrote since.
      const fresh = this.#absent.onlyOurs(target);
      this.#absent.wrote(target);
      if (!fresh && isProtectedFile(target)) return;
      writeSmallSync(target, bytes, options);
    },
    publish: () => {
      let published;
      try {
        published = this.#staged.publish();
      } catch (error) {
        throw storeErrorFromErrno(error, {
          action: `move the objects written into place in '${this.#root}'`,
          where: this.#root,
        });
      }
      for (const folder of published) this.#absent.wrote(folder + sep);
    },
  };

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    const path = this.#path(key);
    const object = parseObjectKey(key);
    if (object) {
      if (this.#absent.holds(path)) return false;
      const state = await checkLocalObject(path, object.oid, object.scheme, signal);
      return state === "trusted" || state === "verified";
    }
    try {
      return (await lstat(path)).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw storeErrorFromErrno(error, {
        action: `check '${key}' in '${this.#root}'`,
        where: path,
      });
    }
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    const slash = prefix.lastIndexOf("/");
    const folderKey = prefix.slice(0, slash + 1);
    const folder = folderKey === "" ? this.#root : this.#path(folderKey.slice(0, -1));
    yield* this.#walk(folder, folderKey, prefix.slice(slash + 1), signal);
  }

  async *#walk(
    folder: string,
    keyPrefix: string,
    namePrefix: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<string> {
    let dir;
    try {
      dir = await opendir(folder);
    } catch (error) {
      if (isMissing(error)) return;
      throw storeErrorFromErrno(error, { action: `list '${folder}'`, where: folder });
    }
    // One handle per depth level at most: folders are walked depth-first.
    try {
      for await (const entry of dir) {
        throwIfAborted(signal);
        if (!entry.name.startsWith(namePrefix)) continue;
        if (isTempName(entry.name)) continue; // a temp file, or a folder not yet published
        if (entry.isDirectory()) {
          yield* this.#walk(join(folder, entry.name), `${keyPrefix}${entry.name}/`, "", signal);
        } else {
          yield `${keyPrefix}${entry.name}`;
        }
      }
    } catch (error) {
      throw storeErrorFromErrno(error, { action: `list '${folder}'`, where: folder });
    }
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    const target = this.#path(key);
    throwIfAborted(options.signal);
    // Objects are content-addressed and immutable: a protected one is already right and
    // stays. Other files (run cache) are plain copies, overwritten like DVC does.
    const isObject = parseObjectKey(key) !== undefined;
    // In a folder that was missing and has only had our own writes, the object cannot be there yet.
    const onlyOurs = this.#absent.onlyOurs(target);
    this.#absent.wrote(target);
    if (isObject && !onlyOurs && isProtectedFile(target)) return;
    const context = { action: `upload '${localPath}' to '${target}'`, where: target };
    const small = readSmallSync(
      localPath,
      { action: `read '${localPath}'`, where: localPath },
      options.size,
    );
    if (small !== undefined) {
      writeSmallSync(target, small, {
        expect: options.expect,
        ...(isObject ? { fileMode: 0o444 } : {}),
        ensureDirSync: this.#ensureDirSync,
        context,
        sourceLabel: `'${localPath}'`,
      });
      options.onBytes?.(small.length);
      return;
    }
    await copyFileAtomic(localPath, target, {
      readContext: { action: `read '${localPath}'`, where: localPath },
      size: options.size,
      helper: this.#copier,
      expect: options.expect,
      signal: options.signal,
      onBytes: options.onBytes,
      ...(isObject ? { fileMode: 0o444 } : {}),
      ensureDirSync: this.#ensureDirSync,
      context,
      sourceLabel: `'${localPath}'`,
    });
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    const source = this.#path(key);
    throwIfAborted(options.signal);
    const readContext = { action: `download '${key}' from '${this.#root}'`, where: source };
    const small = readSmallSync(source, readContext, options.size);
    if (small !== undefined) {
      writeSmallSync(localPath, small, {
        expect: options.expect,
        ensureDirSync: DEFAULT_DIRS,
        context: { action: `write '${localPath}'`, where: localPath },
        sourceLabel: `Object '${key}' in '${this.#root}'`,
      });
      options.onBytes?.(small.length);
      return;
    }
    await copyFileAtomic(source, localPath, {
      readContext,
      size: options.size,
      helper: this.#copier,
      expect: options.expect,
      signal: options.signal,
      onBytes: options.onBytes,
      context: { action: `write '${localPath}'`, where: localPath },
      sourceLabel: `Object '${key}' in '${this.#root}'`,
    });
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isMissing(error)) return;
      throw storeErrorFromErrno(error, { action: `delete '${path}'`, where: path });
    }
  }

  close(): Promise<void> {
    return this.#copier.close();
  }

  /** The file of `key`; keys that could leave the root are refused. */
  #path(key: string): string {
    // Object keys (the bulk of the calls) are safe by their shape.
    if (sep === "/" && OBJECT_KEY.test(key)) {
      return this.#root.endsWith("/") ? this.#root + key : `${this.#root}/${key}`;
    }
    const parts = key.split("/");
    if (
      key.length === 0 || key.includes("\0") ||
      parts.some((part) => part === "" || part === "." || part === "..")
    ) {
      throw new UnsafePathError(`The object key '${key}' is not a safe relative path.`, {
        data: { key },
      });
    }
    return join(this.#root, ...parts);
  }
}

const DEFAULT_DIRS = dirMakerSync();
const OBJECT_KEY = /^(?:files\/md5\/)?[0-9a-f]{2}\/[0-9a-f]{30}(?:\.dir)?$/;

function isProtectedFile(path: string): boolean {
  try {
    const stats = lstatSync(path, { throwIfNoEntry: false });
    return stats !== undefined && stats.isFile() && isProtectedMode(stats.mode);
  } catch {
    return false;
  }
}

function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}
