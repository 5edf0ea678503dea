import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { isAbsolute, relative, sep } from "node:path";
import { parseObjectKey } from "../../core/object_key.ts";
import { readChunks } from "../../store/local_stream.ts";
import { createObjectHasher, type HashScheme } from "../../util/object_hasher.ts";
import { TEMP_NAME } from "../../cache/link.ts";
import type { WorkspaceGuard } from "./guard.ts";
import { type Stamp, stampOf, type WorkspaceState } from "./state.ts";

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
