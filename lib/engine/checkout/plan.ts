import type { LocalCache } from "../../cache/cache.ts";
import type { DirManifestFile } from "../../dvc/dir_manifest_file.ts";
import type { DvcOut } from "../../dvc/out.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import type { SelectedOut } from "./targets.ts";
import type { WorkspaceGuard } from "../workspace/guard.ts";
import { planDirOut } from "./plan_dir.ts";
import {
  identify,
  type IdentifyContext,
  lstatOrUndefined,
  type OutScan,
  scanOut,
  type WsEntry,
} from "../workspace/scan.ts";

/** One file an output should have. */
export interface NewFile {
  /** Project-relative path. */
  readonly path: string;
  readonly oid: string;
  readonly isexec: boolean;
  readonly size?: number | undefined;
}

/** The members of a directory output to write, read from its manifest as they are written. */
export interface DirWrites {
  readonly manifest: DirManifestFile;
  /** How many files will be written. */
  readonly count: number;
  /**
   * The output is not in the workspace: it is built in a temporary folder
   * beside it and renamed into place once (every member under the target).
   * Its manifest was not read yet (`count` is counted from its bytes): the
   * build's pass checks it.
   */
  readonly fresh: boolean;
  /** The manifest's file (a new output's build reads it whole if it cannot stream it). */
  readonly path?: string;
  /** Otherwise: per manifest entry, 1 when that file is (re)written. */
  readonly write?: Uint8Array;
}

/** What checking out one output takes. */
export interface OutPlan {
  readonly out: DvcOut;
  /** The part of the workspace this plan covers: the output's path or a path inside it. */
  readonly base: string;
  /** What is at `base` in the workspace. */
  readonly root: OutScan["root"];
  /** Temporary files left by an interrupted checkout, to remove. */
  readonly temps: string[];
  /** Files to write from the cache (single-file outputs; directory members are in `dir`). */
  readonly creates: NewFile[];
  readonly dir?: DirWrites;
  /** Workspace entries to remove: not part of the output (any more). */
  readonly deletes: string[];
  /** Folders to remove once emptied, deepest first. */
  readonly pruneDirs: string[];
  /** Files that would be removed or overwritten although their content is not in the cache. */
  readonly blocked: string[];
  /** Objects the cache lacks. */
  readonly missing: string[];
  /** Workspace files of a directory output its helper thread looked up (see plan_dir.ts). */
  readonly helperLookups?: number;
  /** For a failed output: its workspace files may go (all are in the cache, or forced). */
  readonly removable: boolean;
  readonly status: "added" | "modified" | "unchanged" | "failed" | "skipped";
}

/** What {@link planOut} needs. */
export interface PlanContext extends IdentifyContext {
  readonly cache: LocalCache;
  readonly guard: WorkspaceGuard;
  readonly force: boolean;
  readonly relink: boolean;
  readonly skipUnpushable: boolean;
}

const PARALLEL = 16;

/**
 * Compares an output's recorded content (its file, or its `.dir` manifest
 * read from the cache) with the workspace, the way DVC's checkout builds
 * its diff: unchanged files stay, changed ones are rewritten, files the
 * output does not have are removed, and anything removed or overwritten
 * whose content is not in the cache is reported as blocked. Directory
 * outputs whose manifest is in the cache are streamed (planDirOut).
 */
export async function planOut(selected: SelectedOut, ctx: PlanContext): Promise<OutPlan> {
  const { out } = selected;
  if (out.isDir && (await ctx.cache.has(out.hash, out.scheme, ctx.signal))) {
    return await planDirOut(selected, ctx);
  }
  const base = selected.within ?? out.path;
  const scheme = out.scheme;
  const missing: string[] = [];
  const wanted = new Map<string, NewFile>();
  if (out.isDir) missing.push(out.hash);
  else if (base === out.path) {
    wanted.set(out.path, {
      path: out.path,
      oid: out.hash,
      isexec: out.isexec ?? false,
      size: out.size,
    });
  }
  const scan = await scanOut(ctx.guard, base);
  const existed = base === out.path
    ? scan.root !== "none"
    : (await lstatOrUndefined(ctx.guard.abs(out.path))) !== undefined;
  const needed = neededDirs(out, base, wanted);

  const unchanged = new Set<string>();
  const deletes: WsEntry[] = [];
  const blocked: string[] = [];
  const inCache = async (entry: WsEntry, known?: string) => {
    const oid = known ?? (await identify(entry, scheme, ctx));
    if (oid !== undefined && (await ctx.cache.has(oid, scheme, ctx.signal))) return true;
    // Bytes kept as a 3.x object are just as safe when this output is legacy (a legacy
    // dvc.lock restored over what a 3.x experiment wrote). Not the reverse: one legacy
    // hash stands for several byte sequences (CRLF or LF).
    if (scheme === "md5") return false;
    const raw = await identify(entry, "md5", ctx);
    return raw !== undefined && (await ctx.cache.has(raw, "md5", ctx.signal));
  };
  await forEachLimit(scan.entries, PARALLEL, ctx.signal, async (entry) => {
    const want = wanted.get(entry.path);
    let oid: string | undefined;
    if (want !== undefined && !ctx.relink && entry.kind !== "other") {
      oid = await identify(entry, scheme, ctx);
      if (oid === want.oid) {
        unchanged.add(entry.path);
        return;
      }
    }
    if (want === undefined) deletes.push(entry);
    if (!ctx.force && missing.length === 0 && !(await inCache(entry, oid))) {
      blocked.push(entry.path);
    }
  });

  const creates = [...wanted.values()].filter((f) => !unchanged.has(f.path));
  const absent = new Set<string>();
  await forEachLimit(creates, PARALLEL * 2, ctx.signal, async (file) => {
    if (!absent.has(file.oid) && !(await ctx.cache.has(file.oid, scheme, ctx.signal))) {
      absent.add(file.oid);
    }
  });
  missing.push(...absent);

  const pruneDirs = scan.dirs.filter((d) => !needed.has(d));
  if (scan.root === "dir" && !needed.has(base)) pruneDirs.push(base);
  pruneDirs.sort((a, b) => depth(b) - depth(a));

  let status: OutPlan["status"];
  let removable = false;
  if (missing.length > 0) {
    status = ctx.skipUnpushable && !out.push ? "skipped" : "failed";
    if (status === "failed") {
      removable = ctx.force;
      if (!removable) {
        removable = true;
        for (const entry of scan.entries) {
          if (!(await inCache(entry))) {
            removable = false;
            break;
          }
        }
      }
    }
  } else if (creates.length > 0 || deletes.length > 0 || pruneDirs.length > 0) {
    status = existed ? "modified" : "added";
  } else if (!existed && out.isDir && base === out.path) {
    status = "added"; // an empty directory output
  } else {
    status = "unchanged";
  }
  const failedOrSkipped = status === "failed" || status === "skipped";
  return {
    out,
    base,
    root: scan.root,
    temps: scan.temps,
    creates: failedOrSkipped ? [] : creates,
    deletes: failedOrSkipped ? [] : deletes.map((entry) => entry.path),
    pruneDirs: failedOrSkipped ? [] : pruneDirs,
    blocked: failedOrSkipped ? [] : blocked.sort(),
    missing,
    removable,
    status,
  };
}

/** Folders that must exist below (and including) a directory output for its files. */
function neededDirs(out: DvcOut, base: string, wanted: ReadonlyMap<string, NewFile>): Set<string> {
  const dirs = new Set<string>();
  if (out.isDir) {
    dirs.add(out.path);
    // Folders above a partial target inside the output stay too.
    for (let i = base.indexOf("/", out.path.length + 1); i >= 0; i = base.indexOf("/", i + 1)) {
      dirs.add(base.slice(0, i));
    }
  }
  for (const path of wanted.keys()) {
    for (let i = path.lastIndexOf("/"); i > out.path.length; i = path.lastIndexOf("/", i - 1)) {
      const dir = path.slice(0, i);
      if (dirs.has(dir)) break;
      dirs.add(dir);
    }
  }
  return dirs;
}

function depth(path: string): number {
  let n = 0;
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) n++;
  return n;
}
