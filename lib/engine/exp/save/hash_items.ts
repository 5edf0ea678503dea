import type { BigIntStats } from "node:fs";
import { lstat, open, readdir, readFile, stat } from "node:fs/promises";
import { DxpError, ExitCode } from "../../../errors/mod.ts";
import { type DirManifestEntry, serializeDirManifest } from "../../../dvc/dir_manifest.ts";
import { IgnoreRules } from "../../../dvc/dvcignore.ts";
import { joinTreePath } from "../../../dvc/tree.ts";
import { storeErrorFromErrno } from "../../../store/errors.ts";
import { readChunks } from "../../../store/local_stream.ts";
import { forEachLimit } from "../../../transfer/parallel.ts";
import { createObjectHasher, hashBytes, type HashScheme } from "../../../util/object_hasher.ts";
import { type Stamp, stampOf, type WorkspaceState } from "../../workspace/state.ts";
import { absPath } from "./targets.ts";

/** Files of a directory hashed at once (reads overlap on the I/O pool while one is hashed). */
const PARALLEL = 16;
/** Files up to this size are read with one read into a reused buffer. */
const SMALL_FILE = 256 * 1024;
/** Directory entries stat'ed at once. */
const STAT_PARALLEL = 32;
/** A stamp younger than this may still change within the same time stamp: not remembered. */
const RACY_NS = 2_000_000_000n;

/**
 * One file of a directory, hashed. Kept small (plain numbers, no bigints,
 * no stat object): there may be 100,000 of them.
 */
export interface MemberDigest {
  /** Project path of the file (the manifest's relpath is the part below the directory). */
  readonly path: string;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
  /** Filled in by the hashing (empty before). */
  oid: string;
}

/** What a dependency or output holds now, in one scheme. */
export interface ItemDigest {
  readonly kind: "file" | "dir";
  readonly scheme: HashScheme;
  /** The file's oid, or the `.dir` oid of a directory. */
  readonly oid: string;
  /** File size, or the sum of the member sizes. */
  readonly size: number;
  readonly nfiles?: number;
  readonly isexec?: boolean;
  /** A file's stamp when it was hashed (checked again before it is linked into the cache). */
  readonly stamp?: Stamp;
  /** A directory's files. */
  readonly members?: MemberDigest[];
  /** A directory's `.dir` bytes. */
  readonly manifest?: Uint8Array;
}

/** A file that changed while dxp was reading it. */
export class FileChangedError extends DxpError {
  constructor(shown: string) {
    super(
      "FileChanged",
      `'${shown}' changed while it was being hashed; wait until the program writing it has finished and save again`,
      ExitCode.failure,
      { data: { path: shown } },
    );
  }
}

/** Options of {@link WorkspaceHasher}. */
export interface HasherOptions {
  readonly root: string;
  readonly state: WorkspaceState;
  readonly signal?: AbortSignal | undefined;
  /** How a project path is shown in messages (relative to the user's directory). */
  readonly show: (path: string) => string;
  /** Called with the number of bytes hashed (progress). */
  readonly onBytes?: ((bytes: number) => void) | undefined;
}

/**
 * Hashes workspace files and directories as DVC builds them: md5 (or DVC
 * 2.x's dos2unix md5) of each file, `.dir` manifests for directories
 * (`.dvcignore` honoured, symlinks to files followed, symlinked folders
 * skipped). A file whose (inode, mtime, size) stamp is in the state is not
 * read again; a file whose stamp changed while it was read is a
 * {@link FileChangedError}. Memory stays flat with the number of files:
 * small files are read into a few reused buffers.
 */
export class WorkspaceHasher {
  readonly #opts: HasherOptions;
  readonly #nowNs = BigInt(Date.now()) * 1_000_000n;
  readonly #memo = new Map<string, Promise<ItemDigest | undefined>>();
  readonly #buffers: Uint8Array[] = [];
  /** Paths found empty (DVC warns `'<path>' is empty.`). */
  readonly empty: string[] = [];
  /** How many files were read (and their stamps recorded, when old enough). */
  hashedFiles = 0;

  constructor(options: HasherOptions) {
    this.#opts = options;
  }

  /**
   * The digest of project path `path` in `scheme`, or `undefined` when
   * nothing is there. Throws for a path that is neither file nor folder.
   */
  digest(path: string, scheme: HashScheme, what: string): Promise<ItemDigest | undefined> {
    const key = `${path}\0${scheme}`;
    let pending = this.#memo.get(key);
    if (pending === undefined) {
      pending = this.#digest(path, scheme, what);
      this.#memo.set(key, pending);
    }
    return pending;
  }

  async #digest(path: string, scheme: HashScheme, what: string): Promise<ItemDigest | undefined> {
    const abs = absPath(this.#opts.root, path);
    const info = await statOrUndefined(abs);
    if (info === undefined) return undefined;
    if (info.isFile()) {
      const stamp = stampOf(info);
      const oid = await this.#file(path, stamp, scheme);
      if (info.size === 0n) this.empty.push(this.#opts.show(path));
      return {
        kind: "file",
        scheme,
        oid,
        size: Number(info.size),
        ...((Number(info.mode) & 0o100) !== 0 ? { isexec: true } : {}),
        stamp,
      };
    }
    if (!info.isDirectory()) {
      throw new DxpError(
        "NotAFileOrDirectory",
        `${what} '${this.#opts.show(path)}' is not a file or directory`,
        ExitCode.failure,
      );
    }
    const members = await this.#listDir(path);
    let size = 0;
    // Files the stamp cache knows are settled in one synchronous pass; only
    // the others cost an async call each (100,000 of those are real garbage).
    const unknown: number[] = [];
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      size += m.size;
      const known = this.#opts.state.lookupApprox(m.path, m, scheme);
      if (known === undefined) unknown.push(i);
      else m.oid = known;
    }
    await forEachLimit(unknown, PARALLEL, this.#opts.signal, async (i) => {
      const m = members[i]!;
      const file = m.path;
      m.oid = await this.#file(file, await this.#exactStamp(file, m), scheme);
    });
    if (members.length === 0) this.empty.push(this.#opts.show(path));
    const manifest = serializeDirManifest(
      members.map((m): DirManifestEntry => ({
        md5: m.oid,
        relpath: m.path.slice(path.length + 1),
      })),
    );
    return {
      kind: "dir",
      scheme,
      oid: `${hashBytes(manifest, "md5")}.dir`,
      size,
      nfiles: members.length,
      members,
      manifest,
    };
  }

  /** The oid of one file, from the state when its stamp is known, else read once. */
  async #file(path: string, stamp: Stamp, scheme: HashScheme): Promise<string> {
    const known = this.#opts.state.lookup(path, stamp, scheme);
    if (known !== undefined) return known;
    const abs = absPath(this.#opts.root, path);
    const hasher = createObjectHasher(scheme);
    try {
      if (stamp.size <= BigInt(SMALL_FILE)) await this.#readSmall(abs, (b) => hasher.update(b));
      else {
        for await (
          const chunk of readChunks(
            abs,
            { action: `read '${path}'`, where: abs },
            this.#opts.signal,
          )
        ) {
          hasher.update(chunk);
          this.#opts.onBytes?.(chunk.length);
        }
      }
    } catch (error) {
      throw storeErrorFromErrno(error, { action: `read '${path}'`, where: abs });
    }
    if (!(await sameStamp(abs, stamp))) throw new FileChangedError(this.#opts.show(path));
    const oid = hasher.digest();
    this.hashedFiles++;
    // A file written moments ago could change again within the same time stamp.
    if (stamp.mtimeNs < this.#nowNs - RACY_NS) this.#opts.state.record(path, stamp, oid, scheme);
    return oid;
  }

  /**
   * The exact (nanosecond) stamp of a member about to be hashed; it must
   * still be the file that was listed.
   */
  async #exactStamp(path: string, listed: MemberDigest): Promise<Stamp> {
    const info = await statOrUndefined(absPath(this.#opts.root, path));
    if (info === undefined || !sameAsListed(info, listed)) {
      throw new FileChangedError(this.#opts.show(path));
    }
    return stampOf(info);
  }

  /** Feeds a small file to `update` through a buffer taken from the pool (to its end, whatever its size). */
  async #readSmall(abs: string, update: (bytes: Uint8Array) => void): Promise<void> {
    const buffer = this.#buffers.pop() ?? new Uint8Array(SMALL_FILE);
    const handle = await open(abs, "r");
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        update(buffer.subarray(0, bytesRead));
        this.#opts.onBytes?.(bytesRead);
      }
    } finally {
      await handle.close().catch(() => undefined);
      this.#buffers.push(buffer);
    }
  }

  /**
   * Every file below directory `path` (symlinks to files followed,
   * symlinked folders skipped), with its stamp as text: a whole BigIntStats
   * per file would cost ~1 KB each for 100,000 files.
   */
  async #listDir(path: string): Promise<MemberDigest[]> {
    const rules = await this.#rulesFor(path);
    const out: MemberDigest[] = [];
    const walk = async (dir: string, inherited: IgnoreRules): Promise<void> => {
      const abs = absPath(this.#opts.root, dir);
      // Names only: every entry is stat'ed anyway (Dirents would be garbage on top).
      const names = await readdir(abs);
      let local = inherited;
      if (names.includes(".dvcignore")) {
        local = local.withFile(dir, await readFile(`${abs}/.dvcignore`, "utf8"));
      }
      const subdirs: string[] = [];
      await forEachLimit(names, STAT_PARALLEL, this.#opts.signal, async (name) => {
        // A plain stat: a bigint one per file is most of the listing's garbage.
        const info = await stat(`${abs}/${name}`).catch(missingAsUndefined);
        // A dangling symlink is skipped; a symlinked folder is not descended.
        if (info === undefined) return;
        if (info.isDirectory()) {
          const linked = (await lstat(`${abs}/${name}`)).isSymbolicLink();
          if (!linked && !local.isIgnored(joinTreePath(dir, name), true)) subdirs.push(name);
        } else if (info.isFile() && !local.isIgnored(joinTreePath(dir, name), false)) {
          // join() makes a flat string: a template literal makes a rope that keeps
          // its pieces alive (~100 bytes more per file over 100,000 files).
          out.push({
            path: [dir, name].join("/"),
            ino: info.ino,
            mtimeMs: info.mtimeMs,
            size: info.size,
            oid: "",
          });
        }
      });
      for (const name of subdirs.sort()) {
        await walk(joinTreePath(dir, name), local);
      }
    };
    await walk(path, rules);
    return out;
  }

  /** `.dvcignore` rules from the project root down to `path`'s parent. */
  async #rulesFor(path: string): Promise<IgnoreRules> {
    let rules = IgnoreRules.defaults();
    const parts = path.split("/");
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const text = await readFile(`${absPath(this.#opts.root, dir)}/.dvcignore`, "utf8").catch(
        () => undefined,
      );
      if (text !== undefined) rules = rules.withFile(dir, text);
    }
    return rules;
  }
}

/**
 * True when the file at `abs` still has `stamp`. A plain (not bigint) stat
 * is enough here and makes much less garbage per file: a write moves the
 * mtime by at least a clock tick, far more than the float's precision.
 */
export async function sameStamp(abs: string, stamp: Stamp): Promise<boolean> {
  const now = await stat(abs).catch(() => undefined);
  return now !== undefined && now.ino === Number(stamp.ino) && now.size === Number(stamp.size) &&
    Math.abs(now.mtimeMs - Number(stamp.mtimeNs) / 1e6) < 0.001;
}

/** A listed member's stamp in the form {@link sameStamp} compares. */
export function memberStamp(m: MemberDigest): Stamp {
  return {
    ino: BigInt(m.ino),
    mtimeNs: BigInt(Math.round(m.mtimeMs * 1e6)),
    size: BigInt(m.size),
  };
}

function sameAsListed(info: BigIntStats, m: MemberDigest): boolean {
  return Number(info.ino) === m.ino && Number(info.size) === m.size &&
    Math.abs(Number(info.mtimeNs) / 1e6 - m.mtimeMs) < 0.001;
}

function missingAsUndefined(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return undefined;
  throw error;
}

async function statOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return undefined;
    throw error;
  }
}
