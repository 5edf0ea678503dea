import * as fsp from "node:fs/promises";
import { constants } from "node:fs";
import { basename } from "node:path";
import process from "node:process";
import { StoreError } from "../errors/mod.ts";
import { tempNameFor } from "../store/local_write.ts";
import { LINK_THIS_FILE_ONLY, LINK_UNSUPPORTED, type LinkType } from "./link_types.ts";
import { placeSync, type SyncPlacement, type SyncPlaceOptions } from "./link_sync.ts";

/** The file operations a {@link Linker} uses; tests replace some to inject faults. */
export interface LinkFs {
  copyFile(src: string, dest: string, mode: number): Promise<void>;
  link(src: string, dest: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  writeFile(path: string, data: Uint8Array, options: { mode: number; flag: string }): Promise<void>;
}

const NODE_FS: LinkFs = {
  copyFile: (src, dest, mode) => fsp.copyFile(src, dest, mode),
  link: (src, dest) => fsp.link(src, dest),
  symlink: (target, path) => fsp.symlink(target, path),
  chmod: (path, mode) => fsp.chmod(path, mode),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  writeFile: (path, data, options) => fsp.writeFile(path, data, options),
};

/** Options of {@link createLinker}. */
export interface LinkerOptions {
  /** Mode of copied files; default `0666 & ~umask` (DVC's unprotected mode). */
  fileMode?: number;
  /** File operations (tests inject faults here). */
  fs?: Partial<LinkFs>;
}

/** What {@link Linker.place} needs to know about one file. */
export interface PlaceOptions {
  /** Size of the object; empty files are never hard-linked (as DVC). */
  size?: number;
  /** Set the exec bits (copies only: a link shares the protected cache object). */
  isexec?: boolean;
}

/** Materialises cache objects as workspace files. */
export interface Linker {
  /**
   * Puts cache object `src` at `dest` with the first link type that works.
   * The file is made under a temporary name in `dest`'s folder and renamed
   * over `dest`, so `dest` is never half-written. Returns the type used.
   */
  place(src: string, dest: string, options?: PlaceOptions): Promise<LinkType>;
  /**
   * {@link placeSync} sharing this linker's types: places a small file (or
   * any link) with synchronous calls, or says "missing" / "large".
   */
  placeSync(src: string, dest: string, options: SyncPlaceOptions): SyncPlacement;
  /** The link types still tried, in order (a type the file system refuses is dropped). */
  readonly types: readonly LinkType[];
  /** The mode of copies (not of executables). */
  readonly fileMode: number;
}

/** Temporary names as DVC makes them: `.` + 22 URL-safe base64 characters + `.tmp`. */
export const TEMP_NAME = /^\.[A-Za-z0-9_-]{22}\.tmp$/;

/** A fresh temporary path next to `dest`. */
export function tempPathFor(dest: string): string {
  return tempNameFor(dest);
}

/**
 * A linker trying `types` in order for each file, like DVC's `cache.type`.
 * A type the file system does not support is dropped for the rest of the
 * run; `copy` always works where the disk is writable.
 *
 * @example
 * const linker = createLinker(["hardlink", "copy"]);
 * await linker.place("/repo/.dvc/cache/files/md5/ab/cd…", "/repo/model.bin");
 */
export function createLinker(types: readonly LinkType[], options: LinkerOptions = {}): Linker {
  const fs: LinkFs = { ...NODE_FS, ...options.fs };
  const fileMode = options.fileMode ?? (0o666 & ~process.umask());
  const execMode = fileMode | (0o111 & ~process.umask());
  const enabled = [...types];

  const make = async (type: LinkType, src: string, tmp: string, opts: PlaceOptions) => {
    const mode = opts.isexec ? execMode : fileMode;
    switch (type) {
      case "reflink":
        await fs.copyFile(src, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
        await fs.chmod(tmp, mode);
        return;
      case "copy":
        await fs.copyFile(src, tmp, constants.COPYFILE_EXCL);
        await fs.chmod(tmp, mode);
        return;
      case "hardlink":
        // Thousands of empty files would hit the link limit of one inode: DVC
        // writes them as plain empty files instead.
        if ((opts.size ?? (await fsp.stat(src)).size) === 0) {
          await fs.writeFile(tmp, new Uint8Array(0), { mode, flag: "wx" });
          await fs.chmod(tmp, mode);
        } else {
          await fs.link(src, tmp);
        }
        return;
      case "symlink":
        await fs.symlink(src, tmp);
        return;
    }
  };

  const syncState = { enabled, fileMode, execMode, types };
  return {
    types: enabled,
    fileMode,
    placeSync: (src, dest, options) => placeSync(syncState, src, dest, options),
    async place(src, dest, opts = {}) {
      let lastError: unknown;
      // A snapshot: concurrent calls may drop a type the file system refused.
      for (const type of [...enabled]) {
        // A link appears complete in one step: made straight under its name
        // when nothing is there; copies always go through a temporary name.
        const direct = type === "hardlink" || type === "symlink";
        let target = direct ? dest : tempPathFor(dest);
        try {
          try {
            await make(type, src, target, opts);
          } catch (error) {
            if (!direct || (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
            target = tempPathFor(dest);
            await make(type, src, target, opts);
          }
        } catch (error) {
          if (target !== dest) await fs.unlink(target).catch(() => undefined);
          const code = (error as NodeJS.ErrnoException).code ?? "";
          // A missing source or a full disk is no reason to try another type.
          if (type === "copy" || (!LINK_UNSUPPORTED.has(code) && !LINK_THIS_FILE_ONLY.has(code))) {
            throw linkError(src, dest, error);
          }
          lastError = error;
          const at = enabled.indexOf(type);
          if (LINK_UNSUPPORTED.has(code) && at >= 0) enabled.splice(at, 1);
          continue;
        }
        if (target === dest) return type;
        try {
          await fs.rename(target, dest);
        } catch (error) {
          await fs.unlink(target).catch(() => undefined);
          throw linkError(src, dest, error);
        }
        return type;
      }
      throw new StoreError(
        `Cannot create '${basename(dest)}' with any cache.type (${
          types.join(", ")
        }); add 'copy' to cache.type or put the cache on the same file system.`,
        { cause: lastError },
      );
    },
  };
}

function linkError(src: string, dest: string, error: unknown): StoreError {
  const code = (error as NodeJS.ErrnoException).code ?? "error";
  return new StoreError(`Cannot write '${dest}' from the cache object '${src}' (${code}).`, {
    cause: error,
  });
}
