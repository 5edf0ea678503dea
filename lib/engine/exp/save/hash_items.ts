import type { BigIntStats } from "node:fs";
import { lstat, readdir, readFile, stat } from "node:fs/promises";
import { DxpError, ExitCode } from "../../../errors/mod.ts";
import { type DirManifestEntry, serializeDirManifest } from "../../../dvc/dir_manifest.ts";
import { IgnoreRules } from "../../../dvc/dvcignore.ts";
import { joinTreePath } from "../../../dvc/tree.ts";
import { readChunks } from "../../../store/local_stream.ts";
import { forEachLimit } from "../../../transfer/parallel.ts";
import { createObjectHasher, hashBytes, type HashScheme } from "../../../util/object_hasher.ts";
import { type Stamp, stampOf, type WorkspaceState } from "../../workspace/state.ts";
import { absPath } from "./targets.ts";

/** Files of a directory hashed at once (reads overlap on the I/O pool while one is hashed). */
const PARALLEL = 16;
/** A stamp younger than this may still change within the same time stamp: not remembered. */
const RACY_NS = 2_000_000_000n;

/** One file of a directory, hashed. */
export interface MemberDigest {
  /** Path inside the directory, `/`-separated. */
  readonly relpath: string;
  readonly stamp: Stamp;
  readonly oids: Partial<Record<HashScheme, string>>;
}

/** What a dependency or output holds now. */
export interface ItemDigest {
  readonly kind: "file" | "dir";
  /** File size, or the sum of the member sizes. */
  readonly size: number;
  readonly nfiles?: number;
  readonly isexec?: boolean;
  /** The oid in each scheme asked for (`.dir` oids for a directory). */
  readonly oids: Partial<Record<HashScheme, string>>;
  /** A file's stamp when it was hashed (checked again before it is linked into the cache). */
  readonly stamp?: Stamp;
  /** A directory's files, sorted by relpath. */
  readonly members?: MemberDigest[];
  /** A directory's `.dir` bytes per scheme. */
  readonly manifests?: Partial<Record<HashScheme, Uint8Array>>;
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
 * read again; a file is read once for all schemes asked; a file whose
 * stamp changed while it was read is a {@link FileChangedError}.
 */
export class WorkspaceHasher {
  readonly #opts: HasherOptions;
  readonly #nowNs = BigInt(Date.now()) * 1_000_000n;
  readonly #memo = new Map<string, Promise<ItemDigest | undefined>>();
  /** Files found empty (DVC warns `'<path>' is empty.`). */
  readonly empty: string[] = [];

  constructor(options: HasherOptions) {
    this.#opts = options;
  }

  /**
   * The digest of project path `path` in `schemes`, or `undefined` when
   * nothing is there. Throws for a path that is neither file nor folder.
   */
  digest(path: string, schemes: readonly HashScheme[], what: string): Promise<
    ItemDigest | undefined
  > {
    const key = `${path}\0${[...schemes].sort().join(",")}`;
    let pending = this.#memo.get(key);
    if (pending === undefined) {
      pending = this.#digest(path, schemes, what);
      this.#memo.set(key, pending);
    }
    return pending;
  }

  async #digest(path: string, schemes: readonly HashScheme[], what: string) {
    const abs = absPath(this.#opts.root, path);
    const info = await statOrUndefined(abs);
    if (info === undefined) return undefined;
    if (info.isFile()) {
      const oids = await this.#file(path, info, schemes);
      if (info.size === 0n) this.empty.push(this.#opts.show(path));
      return {
        kind: "file" as const,
        size: Number(info.size),
        ...((Number(info.mode) & 0o100) !== 0 ? { isexec: true } : {}),
        oids,
        stamp: stampOf(info),
      };
    }
    if (!info.isDirectory()) {
      throw new DxpError(
        "NotAFileOrDirectory",
        `${what} '${this.#opts.show(path)}' is not a file or directory`,
        ExitCode.failure,
      );
    }
    const files = await this.#listDir(path);
    const members: MemberDigest[] = new Array(files.length);
    await forEachLimit(
      files.map((f, i) => ({ ...f, i })),
      PARALLEL,
      this.#opts.signal,
      async (f) => {
        members[f.i] = {
          relpath: f.relpath,
          stamp: stampOf(f.info),
          oids: await this.#file(`${path}/${f.relpath}`, f.info, schemes),
        };
      },
    );
    if (members.length === 0) this.empty.push(this.#opts.show(path));
    const oids: Partial<Record<HashScheme, string>> = {};
    const manifests: Partial<Record<HashScheme, Uint8Array>> = {};
    for (const scheme of schemes) {
      const entries: DirManifestEntry[] = members.map((m) => ({
        md5: m.oids[scheme]!,
        relpath: m.relpath,
      }));
      const bytes = serializeDirManifest(entries);
      manifests[scheme] = bytes;
      oids[scheme] = `${hashBytes(bytes, "md5")}.dir`;
    }
    let size = 0;
    for (const m of members) size += Number(m.stamp.size);
    return { kind: "dir" as const, size, nfiles: members.length, oids, members, manifests };
  }

  /** The oids of one file, from the state when its stamp is known, else read once. */
  async #file(
    path: string,
    info: BigIntStats,
    schemes: readonly HashScheme[],
  ): Promise<Partial<Record<HashScheme, string>>> {
    const oids: Partial<Record<HashScheme, string>> = {};
    const missing: HashScheme[] = [];
    for (const scheme of schemes) {
      const known = this.#opts.state.lookup(path, info, scheme);
      if (known !== undefined) oids[scheme] = known;
      else missing.push(scheme);
    }
    if (missing.length === 0) return oids;
    const abs = absPath(this.#opts.root, path);
    const hashers = missing.map((scheme) => ({ scheme, hasher: createObjectHasher(scheme) }));
    for await (
      const chunk of readChunks(abs, { action: `read '${path}'`, where: abs }, this.#opts.signal)
    ) {
      for (const { hasher } of hashers) hasher.update(chunk);
      this.#opts.onBytes?.(chunk.length);
    }
    const after = await statOrUndefined(abs);
    if (
      after === undefined || after.ino !== info.ino || after.mtimeNs !== info.mtimeNs ||
      after.size !== info.size
    ) {
      throw new FileChangedError(this.#opts.show(path));
    }
    for (const { scheme, hasher } of hashers) oids[scheme] = hasher.digest();
    // A file written moments ago could change again within the same time stamp.
    if (info.mtimeNs < this.#nowNs - RACY_NS) {
      for (const scheme of missing) this.#opts.state.record(path, info, oids[scheme]!, scheme);
    }
    return oids;
  }

  /** Every file below directory `path` (symlinks to files included), sorted by relpath. */
  async #listDir(path: string): Promise<{ relpath: string; info: BigIntStats }[]> {
    const rules = await this.#rulesFor(path);
    const out: { relpath: string; info: BigIntStats }[] = [];
    const walk = async (dir: string, rel: string, inherited: IgnoreRules): Promise<void> => {
      const abs = absPath(this.#opts.root, dir);
      const names = (await readdir(abs)).sort();
      let local = inherited;
      if (names.includes(".dvcignore")) {
        local = local.withFile(dir, await readFile(`${abs}/.dvcignore`, "utf8"));
      }
      for (const name of names) {
        const child = joinTreePath(dir, name);
        const childRel = rel === "" ? name : `${rel}/${name}`;
        const info = await statOrUndefined(`${abs}/${name}`);
        if (info === undefined) continue; // vanished, or a dangling symlink
        if (info.isDirectory()) {
          if (local.isIgnored(child, true)) continue;
          if (!(await lstatIsLink(`${abs}/${name}`))) await walk(child, childRel, local);
        } else if (info.isFile() && !local.isIgnored(child, false)) {
          out.push({ relpath: childRel, info });
        }
      }
    };
    await walk(path, "", rules);
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

async function statOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return undefined;
    throw error;
  }
}

async function lstatIsLink(path: string): Promise<boolean> {
  return (await lstat(path)).isSymbolicLink();
}
