import { lstatSync, type Stats } from "node:fs";
import { CorruptError } from "../../errors/mod.ts";
import {
  type DirManifestFile,
  ManifestNotStreamable,
  openDirManifest,
  streamDirManifest,
} from "../../dvc/dir_manifest_file.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { FolderLstat, isRegularFile, quickLstat } from "../../util/quick_lstat.ts";
import { isProtectedMode } from "../../store/local_verify.ts";
import { assertWorkspacePath } from "../workspace/guard.ts";
import { countTree, identifyStat, listTree, type TreeEntry } from "../workspace/scan.ts";
import { PathSet } from "../workspace/path_set.ts";
import type { OutPlan, PlanContext } from "./plan.ts";
import type { SelectedOut } from "./targets.ts";

/**
 * Plans a directory output whose `.dir` manifest is in the cache, without
 * ever holding its file list: the manifest is streamed (sorted by relpath),
 * each file it names is lstat-ed in the workspace and compared with the
 * stamps of the state, and the workspace is only counted, not listed. When
 * the count shows files the output does not have, a second walk finds them
 * against a compact set of path hashes. An output not in the workspace at
 * all is `fresh`: it will be built in a temporary sibling folder and renamed
 * into place once, so nothing is ever half there.
 */
export async function planDirOut(selected: SelectedOut, ctx: PlanContext): Promise<OutPlan> {
  const { out } = selected;
  const path = ctx.cache.objectPath(out.hash, out.scheme);
  // One pass over the manifest: it is checked while it is planned against (a
  // plan changes nothing, so a fault found at its end costs nothing). One not
  // in DVC's exact layout is checked first and read again.
  const streamed = streamDirManifest(path, out.hash, out.scheme);
  if (streamed === undefined) return failed(selected, [out.hash], "none");
  try {
    return await planAgainst(streamed, selected, ctx);
  } catch (error) {
    if (!(error instanceof ManifestNotStreamable)) throw error;
  }
  const manifest = openDirManifest(path, out.hash, out.scheme);
  if (manifest === undefined) return failed(selected, [out.hash], "none");
  return await planAgainst(manifest, selected, ctx);
}

/** A manifest that lists a path both as a file and as a folder cannot be checked out. */
function assertNoConflict(manifest: DirManifestFile, out: SelectedOut["out"]): void {
  if (manifest.conflict !== undefined) {
    throw new CorruptError(
      `The manifest of '${out.path}' (${out.hash}) lists a path both as a file and as a folder; delete the object and fetch it again.`,
    );
  }
}

async function planAgainst(
  manifest: DirManifestFile,
  selected: SelectedOut,
  ctx: PlanContext,
): Promise<OutPlan> {
  const { out } = selected;
  const base = selected.within ?? out.path;
  const scheme = out.scheme;
  // Manifest paths are plain relative paths: joined by hand, once per file.
  const projectDir = ctx.guard.root.endsWith("/") ? ctx.guard.root : `${ctx.guard.root}/`;
  const abs = (path: string) => projectDir + path;
  const top = lstatSync(abs(base), { throwIfNoEntry: false });
  const inBase = (path: string) =>
    base === out.path || path === base || path.startsWith(`${base}/`);

  if (base === out.path && (top === undefined || !top.isDirectory())) {
    // Nothing there, or a file where the folder goes: build the folder aside.
    let count = 0;
    for (const batch of manifest.batches()) {
      for (const relpath of batch.relpath) assertMember(out.path, relpath);
      count += batch.relpath.length;
    }
    assertNoConflict(manifest, out);
    const blocked: string[] = [];
    if (top !== undefined && !ctx.force) {
      const entry = { path: base, kind: kindOf(top), stats: top };
      if (!(await inCacheStat(entry, scheme, ctx))) blocked.push(base);
    }
    return {
      out,
      base,
      root: top === undefined ? "none" : kindOf(top),
      temps: [],
      creates: [],
      dir: { manifest, count, fresh: true },
      deletes: top === undefined ? [] : [base],
      pruneDirs: [],
      blocked,
      missing: [],
      removable: false,
      status: top === undefined ? "added" : "modified",
    };
  }

  const tree = top?.isDirectory() ? countTree(ctx.guard, base) : undefined;
  const root: OutPlan["root"] = top === undefined ? "none" : tree ? "dir" : kindOf(top);
  const existed = base === out.path
    ? top !== undefined
    : lstatSync(abs(out.path), { throwIfNoEntry: false }) !== undefined;
  // One byte per manifest entry (its count is known up front only for a checked manifest).
  let write = new Uint8Array(Math.max(manifest.count, 4096));
  let writes = 0;
  let matched = 0;
  const blocked: string[] = [];
  const missing = new Set<string>();
  const needed = new Set<string>([out.path]);
  // Folders above a partial target inside the output stay too.
  for (let i = base.indexOf("/", out.path.length + 1); i >= 0; i = base.indexOf("/", i + 1)) {
    needed.add(base.slice(0, i));
  }
  const folders = new FolderLstat();
  let folder = "";
  let folderAbs = "";
  try {
    for (const batch of manifest.batches()) {
      for (let k = 0; k < batch.md5.length; k++) {
        const md5 = batch.md5[k]!;
        const relpath = batch.relpath[k]!;
        const path = `${out.path}/${relpath}`;
        if (!inBase(path)) continue;
        assertMember(out.path, relpath);
        // Entries of one folder come together (the manifest is sorted): its strings once.
        const slash = path.lastIndexOf("/");
        if (slash !== folder.length || !path.startsWith(folder)) {
          folder = path.slice(0, slash);
          folderAbs = abs(folder);
          for (let i = slash; i > out.path.length; i = path.lastIndexOf("/", i - 1)) {
            const dir = path.slice(0, i);
            if (needed.has(dir)) break;
            needed.add(dir);
          }
        }
        // A no-op's every file: the state holds this stamp with the manifest's oid.
        const seen = folders.lstat(folderAbs, path.slice(slash + 1));
        if (
          seen !== undefined && !ctx.relink && isRegularFile(seen) &&
          ctx.state.holdsApprox(path, seen, scheme, md5)
        ) {
          matched++;
          continue;
        }
        // Anything else is looked at closely, with node:fs's full answer.
        const st = seen === undefined ? undefined : lstatSync(abs(path), { throwIfNoEntry: false });
        if (st !== undefined && !st.isDirectory()) {
          matched++;
          const found = { path, kind: kindOf(st), stats: st };
          let oid: string | undefined;
          if (!ctx.relink && found.kind !== "other") {
            oid = await identifyStat(found, scheme, ctx);
            if (oid === md5) continue;
          }
          if (!ctx.force && !(await inCacheStat(found, scheme, ctx, oid))) blocked.push(path);
        }
        // Grown to hold this index, however far past the end it is: the first
        // file to write may come after thousands that need nothing (a typed
        // array drops a store past its end without a word).
        if (batch.start + k >= write.length) {
          const grown = new Uint8Array(Math.max(write.length * 2, batch.start + k + 1));
          grown.set(write);
          write = grown;
        }
        write[batch.start + k] = 1;
        writes++;
        if (!missing.has(md5) && !objectThere(ctx, md5, scheme)) {
          if (!(await ctx.cache.has(md5, scheme, ctx.signal))) missing.add(md5);
        }
      }
    }
  } finally {
    folders.close();
  }
  assertNoConflict(manifest, out);

  const deletes: string[] = [];
  if (tree !== undefined && tree.files > matched) {
    // Files the output does not have: found against the hashes of its paths.
    const members = new PathSet(manifest.count);
    for (const batch of manifest.batches()) {
      for (const relpath of batch.relpath) members.add(`${out.path}/${relpath}`);
    }
    for (const found of listTree(ctx.guard, base)) {
      if (members.has(found.path)) continue;
      deletes.push(found.path);
      if (!ctx.force && !(await inCacheStat(found, scheme, ctx))) blocked.push(found.path);
    }
  }
  const pruneDirs = (tree?.dirs ?? []).filter((d) => !needed.has(d));
  if (root === "dir" && !needed.has(base)) pruneDirs.push(base);
  pruneDirs.sort((a, b) => depth(b) - depth(a));
  if (root !== "none" && root !== "dir") deletes.push(base);

  let status: OutPlan["status"];
  if (missing.size > 0) {
    return failed(selected, [...missing], root, ctx);
  } else if (writes > 0 || deletes.length > 0 || pruneDirs.length > 0) {
    status = existed ? "modified" : "added";
  } else if (!existed && base === out.path) {
    status = "added"; // an empty directory output
  } else {
    status = "unchanged";
  }
  return {
    out,
    base,
    root,
    temps: tree?.temps ?? [],
    creates: [],
    dir: { manifest, count: writes, fresh: false, write },
    deletes,
    pruneDirs,
    blocked: blocked.sort(),
    missing: [],
    removable: false,
    status,
  };
}

/** An output whose objects the cache lacks: nothing is written; its files may go when safe. */
async function failed(
  selected: SelectedOut,
  missing: string[],
  root: OutPlan["root"],
  ctx?: PlanContext,
): Promise<OutPlan> {
  const { out } = selected;
  const base = selected.within ?? out.path;
  const status = ctx?.skipUnpushable && !out.push ? "skipped" : "failed";
  let removable = false;
  if (status === "failed" && ctx !== undefined && root !== "none") {
    removable = ctx.force;
    if (!removable) {
      removable = true;
      for (const found of listTree(ctx.guard, base)) {
        if (!(await inCacheStat(found, out.scheme, ctx))) {
          removable = false;
          break;
        }
      }
    }
  }
  return {
    out,
    base,
    root,
    temps: [],
    creates: [],
    deletes: [],
    pruneDirs: [],
    blocked: [],
    missing,
    removable,
    status,
  };
}

/** A manifest path as a workspace path: the manifest checks are DVC's, this adds `.git`. */
function assertMember(outPath: string, relpath: string): void {
  // Only paths mentioning `.git` need the full check (the manifest reader did the rest).
  if (relpath.length >= 4 && /\.git/i.test(relpath)) {
    assertWorkspacePath(`${outPath}/${relpath}`, `a file of output '${outPath}'`);
  }
}

/** True when the cache holds `oid` protected (the common case, one lstat). */
function objectThere(ctx: PlanContext, oid: string, scheme: HashScheme): boolean {
  const st = quickLstat(ctx.cache.objectPath(oid, scheme));
  return st !== undefined && isRegularFile(st) && isProtectedMode(st.mode);
}

/** Whether a workspace entry's content is safe in the cache (see plan.ts's inCache). */
async function inCacheStat(
  entry: TreeEntry,
  scheme: HashScheme,
  ctx: PlanContext,
  known?: string,
): Promise<boolean> {
  const oid = known ?? (await identifyStat(entry, scheme, ctx));
  if (oid !== undefined && (await ctx.cache.has(oid, scheme, ctx.signal))) return true;
  if (scheme === "md5") return false;
  const raw = await identifyStat(entry, "md5", ctx);
  return raw !== undefined && (await ctx.cache.has(raw, "md5", ctx.signal));
}

function kindOf(info: Stats): "file" | "symlink" | "other" {
  if (info.isFile()) return "file";
  if (info.isSymbolicLink()) return "symlink";
  return "other";
}

function depth(path: string): number {
  let n = 0;
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) n++;
  return n;
}
