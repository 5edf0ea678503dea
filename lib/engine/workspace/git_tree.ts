import * as fs from "node:fs";
import { rename, rmdir, symlink, unlink, writeFile } from "node:fs/promises";
import process from "node:process";
import git from "isomorphic-git";
import { tempPathFor } from "../../cache/link.ts";
import type { GitCache } from "../../git/revision.ts";
import { assertWorkspacePath, type WorkspaceGuard } from "./guard.ts";
import { gitObjectsFs } from "../../git/objects_fs.ts";

/** One file of a Git tree, flattened: blob (or gitlink) oid and mode (`100644`, `100755`, `120000`, `160000`). */
export interface GitFile {
  readonly oid: string;
  readonly mode: string;
}

/** Every file of commit `commitOid`'s tree by `/`-separated path (trees are recursed). */
export async function flattenCommit(
  gitdir: string,
  commitOid: string,
  cache: GitCache,
): Promise<Map<string, GitFile>> {
  const { commit } = await git.readCommit({ fs, gitdir, oid: commitOid, cache });
  const files = new Map<string, GitFile>();
  const walk = async (treeOid: string, prefix: string): Promise<void> => {
    const { tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache });
    for (const entry of tree) {
      const path = prefix === "" ? entry.path : `${prefix}/${entry.path}`;
      if (entry.type === "tree") await walk(entry.oid, path);
      else files.set(path, { oid: entry.oid, mode: entry.mode });
    }
  };
  await walk(commit.tree, "");
  return files;
}

/** Writes the tree objects for a flat file map and returns the root tree's oid. */
export function writeFlatTree(
  gitdir: string,
  files: ReadonlyMap<string, GitFile>,
): Promise<string> {
  interface Dir {
    files: Map<string, GitFile>;
    dirs: Map<string, Dir>;
  }
  const root: Dir = { files: new Map(), dirs: new Map() };
  for (const [path, file] of files) {
    const parts = path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let sub = dir.dirs.get(part);
      if (sub === undefined) dir.dirs.set(part, sub = { files: new Map(), dirs: new Map() });
      dir = sub;
    }
    dir.files.set(parts[parts.length - 1]!, file);
  }
  const write = async (dir: Dir): Promise<string> => {
    const tree: { mode: string; path: string; oid: string; type: "blob" | "tree" | "commit" }[] =
      [];
    for (const [name, sub] of dir.dirs) {
      tree.push({ mode: "040000", path: name, oid: await write(sub), type: "tree" });
    }
    for (const [name, file] of dir.files) {
      tree.push({
        mode: file.mode,
        path: name,
        oid: file.oid,
        type: file.mode === "160000" ? "commit" : "blob",
      });
    }
    return git.writeTree({ fs: gitObjectsFs, gitdir, tree });
  };
  return write(root);
}

/**
 * Writes a Git file into the work tree the way `git checkout` would (raw
 * blob bytes, no filters): regular files with `0666 & ~umask` (plus exec
 * bits for `100755`), symlinks as symlinks; through a temporary name and a
 * rename. Gitlinks become empty folders. Paths are checked before writing.
 */
export async function writeGitFile(
  gitdir: string,
  guard: WorkspaceGuard,
  path: string,
  file: GitFile,
  cache: GitCache,
): Promise<void> {
  assertWorkspacePath(path, "Git file", { allowDvcDir: true });
  const slash = path.lastIndexOf("/");
  await guard.ensureDir(slash < 0 ? "" : path.slice(0, slash));
  if (file.mode === "160000") {
    await guard.ensureDir(path);
    return;
  }
  const abs = guard.abs(path);
  const { blob } = await git.readBlob({ fs, gitdir, oid: file.oid, cache });
  const tmp = tempPathFor(abs);
  try {
    if (file.mode === "120000") {
      await symlink(new TextDecoder().decode(blob), tmp);
    } else {
      const umask = process.umask();
      const mode = file.mode === "100755" ? 0o777 & ~umask : 0o666 & ~umask;
      await writeFile(tmp, blob, { mode, flag: "wx" });
    }
    await rename(tmp, abs);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** Removes a work-tree file and then its parent folders that became empty (never the top). */
export async function removeWorkFile(guard: WorkspaceGuard, path: string): Promise<void> {
  assertWorkspacePath(path, "Git file", { allowDvcDir: true });
  try {
    await unlink(guard.abs(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
  }
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const dir = path.slice(0, i);
    try {
      await rmdir(guard.abs(dir));
      guard.forget(dir);
    } catch {
      break; // not empty (or already gone): its parents are not empty either
    }
  }
}
