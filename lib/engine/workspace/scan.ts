import { type BigIntStats, type Dirent, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { isAbsolute, relative, sep } from "node:path";
import { parseObjectKey } from "../../core/object_key.ts";
import { readChunks } from "../../store/local_stream.ts";
import { readSmallSync } from "../../store/local_small.ts";
import { createObjectHasher, type HashScheme } from "../../util/object_hasher.ts";
import { TEMP_NAME } from "../../cache/link.ts";
import type { WorkspaceGuard } from "./guard.ts";
import { type Stamp, stampOf, type WorkspaceState } from "./state.ts";
import { GarbagePacer } from "../../util/collect_garbage.ts";

/** One non-folder entry found in the workspace at or below an output path. */
export interface WsEntry {
  /** Project-relative path. */
  readonly path: string;
  readonly kind: "file" | "symlink" | "other";
  readonly stats: Stamp;
}

/** What is in the workspace at an output's path. */
export interface OutScan {
  /** What the output path itself is. */
  readonly root: "none" | "file" | "dir" | "symlink" | "other";
  /** Every file, symlink or special file at or below the path (symlinks are never followed). */
  readonly entries: WsEntry[];
  /** Every real folder strictly below the path, parents before children. */
  readonly dirs: string[];
  /** Temporary files left by an interrupted checkout (DVC's `.<22>.tmp` names). */
  readonly temps: string[];
}

/** Walks the workspace at project-relative `path` without following symlinks. */
export async function scanOut(guard: WorkspaceGuard, path: string): Promise<OutScan> {
  const scan = { root: "none" as OutScan["root"], entries: [] as WsEntry[], dirs: [], temps: [] };
  const top = await lstatOrUndefined(guard.abs(path));
  if (top === undefined) return scan;
  if (!top.isDirectory()) {
    const kind = kindOf(top);
    scan.root = kind;
    scan.entries.push({ path, kind, stats: stampOf(top) });
    return scan;
  }
  scan.root = "dir";
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(guard.abs(dir));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    const subdirs: string[] = [];
    for (const name of names) {
      const child = `${dir}/${name}`;
      const info = await lstatOrUndefined(guard.abs(child));
      if (info === undefined) continue;
      if (info.isDirectory()) {
        (scan.dirs as string[]).push(child);
        subdirs.push(child);
      } else if (info.isFile() && TEMP_NAME.test(name)) {
        (scan.temps as string[]).push(child);
      } else {
        scan.entries.push({ path: child, kind: kindOf(info), stats: stampOf(info) });
      }
    }
    for (const sub of subdirs) await walk(sub);
  };
  await walk(path);
  return scan;
}

/** How {@link identify} finds out what a workspace entry holds. */
export interface IdentifyContext {
  readonly guard: WorkspaceGuard;
  readonly state: WorkspaceState;
  /** `cache.dir`, to recognise symlinks into the cache. */
  readonly cacheRoot: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The oid of a workspace entry's content in `scheme`: from the state when
 * its stamp is unchanged, from the link target for a symlink into the cache,
 * else by hashing the file (and recording the result). `undefined` for other
 * symlinks and special files, whose content the checkout never reads.
 */
export async function identify(
  entry: WsEntry,
  scheme: HashScheme,
  ctx: IdentifyContext,
): Promise<string | undefined> {
  if (entry.kind === "symlink") {
    const target = await readlink(ctx.guard.abs(entry.path)).catch(() => undefined);
    if (target === undefined || !isAbsolute(target)) return undefined;
    const rel = relative(ctx.cacheRoot, target);
    if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
    const key = parseObjectKey(rel.split(sep).join("/"));
    return key !== undefined && key.scheme === scheme ? key.oid : undefined;
  }
  if (entry.kind !== "file") return undefined;
  const known = ctx.state.lookup(entry.path, entry.stats, scheme);
  if (known !== undefined) return known;
  const hasher = createObjectHasher(scheme);
  const abs = ctx.guard.abs(entry.path);
  for await (
    const chunk of readChunks(abs, { action: `read '${entry.path}'`, where: abs }, ctx.signal)
  ) {
    hasher.update(chunk);
  }
  const oid = hasher.digest();
  // Only remember it when the file did not change while it was read.
  const after = await lstatOrUndefined(abs);
  if (
    after !== undefined && after.mtimeNs === entry.stats.mtimeNs && after.size === entry.stats.size
  ) {
    ctx.state.record(entry.path, after, oid, scheme);
  }
  return oid;
}

/** lstat with bigint stamps, or undefined when nothing is there. */
export async function lstatOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

function kindOf(info: BigIntStats): WsEntry["kind"] {
  if (info.isFile()) return "file";
  if (info.isSymbolicLink()) return "symlink";
  return "other";
}

/** A non-folder workspace entry with a plain (number) stat. */
export interface TreeEntry {
  /** Project-relative path. */
  readonly path: string;
  readonly kind: "file" | "symlink" | "other";
  readonly stats: { readonly ino: number; readonly mtimeMs: number; readonly size: number };
}

/** What {@link countTree} found below a folder. */
export interface TreeCount {
  /** Files, symlinks and special files (temps excluded). */
  files: number;
  /** Every real folder strictly below, parents before children. */
  dirs: string[];
  /** Temporary files of an interrupted checkout (DVC's `.<22>.tmp` names). */
  temps: string[];
}

/**
 * Counts what is below folder `path` (project-relative) from directory
 * listings alone (no stat per file, unless the file system does not give
 * entry types): a directory output's files are then matched one by one,
 * and the count says whether anything else is there.
 */
export function countTree(guard: WorkspaceGuard, path: string): TreeCount {
  const counter = new TreeCounter(guard, path);
  counter.step();
  return counter.count;
}

/**
 * {@link countTree} a few folders at a time, for a loop that has other work
 * to interleave with it (the plan of a big directory output lists the
 * workspace while its helper thread looks the files up).
 */
export class TreeCounter {
  readonly count: TreeCount = { files: 0, dirs: [], temps: [] };
  readonly #pacer = new GarbagePacer();
  /** Folders still to list, the next one last. */
  readonly #stack: string[];

  constructor(private readonly guard: WorkspaceGuard, path: string) {
    this.#stack = [path];
  }

  get done(): boolean {
    return this.#stack.length === 0;
  }

  /** Lists folders until about `entries` entries were seen (all of them by default). */
  step(entries = Infinity): void {
    let seen = 0;
    while (seen < entries && this.#stack.length > 0) {
      const dir = this.#stack.pop()!;
      const subdirs: string[] = [];
      for (const entry of listDir(this.guard, dir)) {
        seen++;
        this.#pacer.step();
        // Nearly every entry is a plain file: it needs no path string of its own.
        if (entry.isFile() && !TEMP_NAME.test(entry.name)) {
          this.count.files++;
          continue;
        }
        const child = `${dir}/${entry.name}`;
        const type = direntType(entry, this.guard, child);
        if (type === "dir") {
          this.count.dirs.push(child);
          subdirs.push(child);
        } else if (type === "file" && TEMP_NAME.test(entry.name)) this.count.temps.push(child);
        else this.count.files++;
      }
      // Depth first, in the order listed.
      for (let i = subdirs.length - 1; i >= 0; i--) this.#stack.push(subdirs[i]!);
    }
  }
}

/** Every file, symlink or special file below folder `path` (temps left out), lstat-ed, depth first. */
export function* listTree(guard: WorkspaceGuard, path: string): Generator<TreeEntry> {
  const top = lstatSync(guard.abs(path), { throwIfNoEntry: false });
  if (top === undefined) return;
  if (!top.isDirectory()) {
    yield { path, kind: kindOfStats(top), stats: top };
    return;
  }
  const stack = [path];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of listDir(guard, dir)) {
      const child = `${dir}/${entry.name}`;
      const info = lstatSync(guard.abs(child), { throwIfNoEntry: false });
      if (info === undefined) continue;
      if (info.isDirectory()) stack.push(child);
      else if (!(info.isFile() && TEMP_NAME.test(entry.name))) {
        yield { path: child, kind: kindOfStats(info), stats: info };
      }
    }
  }
}

function listDir(guard: WorkspaceGuard, dir: string): Dirent[] {
  try {
    return readdirSync(guard.abs(dir), { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw error;
  }
}

function direntType(entry: Dirent, guard: WorkspaceGuard, path: string): "dir" | "file" | "other" {
  if (entry.isDirectory()) return "dir";
  if (entry.isFile()) return "file";
  if (
    entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() ||
    entry.isBlockDevice()
  ) return "other";
  // The file system did not say (DT_UNKNOWN): ask.
  const info = lstatSync(guard.abs(path), { throwIfNoEntry: false });
  if (info?.isDirectory()) return "dir";
  return info?.isFile() ? "file" : "other";
}

function kindOfStats(info: { isFile(): boolean; isSymbolicLink(): boolean }): TreeEntry["kind"] {
  if (info.isFile()) return "file";
  if (info.isSymbolicLink()) return "symlink";
  return "other";
}

/**
 * {@link identify} for an entry stat-ed without bigints: the state's stamp
 * when it matches to the microsecond, the link target for a symlink into
 * the cache, else the file's hash (read with synchronous calls when small),
 * recorded when the file did not change while it was read.
 */
export async function identifyStat(
  entry: TreeEntry,
  scheme: HashScheme,
  ctx: IdentifyContext,
): Promise<string | undefined> {
  if (entry.kind === "symlink") {
    let target: string;
    try {
      target = readlinkSync(ctx.guard.abs(entry.path));
    } catch {
      return undefined;
    }
    if (!isAbsolute(target)) return undefined;
    const rel = relative(ctx.cacheRoot, target);
    if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
    const key = parseObjectKey(rel.split(sep).join("/"));
    return key !== undefined && key.scheme === scheme ? key.oid : undefined;
  }
  if (entry.kind !== "file") return undefined;
  const known = ctx.state.lookupApprox(entry.path, entry.stats, scheme);
  if (known !== undefined) return known;
  const abs = ctx.guard.abs(entry.path);
  const hasher = createObjectHasher(scheme);
  const context = { action: `read '${entry.path}'`, where: abs };
  const small = readSmallSync(abs, context);
  if (small !== undefined) hasher.update(small);
  else {
    for await (const chunk of readChunks(abs, context, ctx.signal)) hasher.update(chunk);
  }
  const oid = hasher.digest();
  const after = lstatSync(abs, { throwIfNoEntry: false });
  if (
    after !== undefined && after.ino === entry.stats.ino && after.size === entry.stats.size &&
    after.mtimeMs === entry.stats.mtimeMs
  ) {
    ctx.state.recordApprox(entry.path, after, oid, scheme);
  }
  return oid;
}
