import * as fs from "node:fs";
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import git from "isomorphic-git";
import type { GitCache } from "../../git/revision.ts";
import { type GitFile, writeFlatTree } from "./git_tree.ts";
import type { GitIdentity } from "./git_ident.ts";
import { gitObjectsFs } from "../../git/objects_fs.ts";

/** isomorphic-git's status row: path, HEAD, work tree, index (see `statusMatrix`). */
export type StatusRow = [string, number, number, number];

/** Where the work tree is and how to read it. */
export interface WorkTreeContext {
  /** The Git work tree top. */
  readonly dir: string;
  readonly gitdir: string;
  readonly cache: GitCache;
}

/**
 * Every path whose HEAD, index or work-tree state is not "the same as
 * HEAD", untracked files included, ignored ones not (`git status` minus
 * the clean paths).
 */
export async function dirtyPaths(ctx: WorkTreeContext): Promise<StatusRow[]> {
  const rows = await git.statusMatrix({ fs, dir: ctx.dir, gitdir: ctx.gitdir, cache: ctx.cache });
  return (rows as StatusRow[]).filter(([, head, work, stage]) =>
    !(head === 1 && work === 1 && stage === 1)
  );
}

/** A stash commit as `git stash push --include-untracked` makes it. */
export interface Stash {
  readonly sha: string;
  /** The work-tree snapshot of tracked files (the stash's own tree). */
  readonly worktree: Map<string, GitFile>;
  /** Untracked files (the third parent's tree), empty when there were none. */
  readonly untracked: Map<string, GitFile>;
}

/** What a stash commit's messages say. */
export interface StashLabels {
  readonly headOid: string;
  /** Branch name, or `(no branch)` for a detached HEAD. */
  readonly branch: string;
  /** First line of HEAD's commit message. */
  readonly subject: string;
  /** The stash message (`On <branch>: <message>`). */
  readonly message: string;
}

/**
 * Records the work tree's changes as a git stash commit: parents HEAD, the
 * index commit and (when there are untracked files) the untracked-files
 * commit, exactly the shape `git stash apply <sha>` restores. `replace`
 * gives files (Git work-tree paths) whose recorded content differs from the
 * work tree's (stage files updated with the hashes of saved outputs): they
 * go where the work-tree file would (untracked or tracked snapshot). Writes
 * only Git objects; refs and the work tree are left to the caller.
 */
export async function createStash(
  ctx: WorkTreeContext,
  rows: readonly StatusRow[],
  labels: StashLabels,
  ident: GitIdentity,
  replace: ReadonlyMap<string, Uint8Array> = new Map(),
): Promise<Stash> {
  const index = await indexFiles(ctx);
  const worktree = new Map(index);
  const untracked = new Map<string, GitFile>();
  for (const [path, , work, stage] of rows) {
    if (stage === 0) {
      if (work !== 0) untracked.set(path, await workFileBlob(ctx, path));
      continue;
    }
    if (work === 0) worktree.delete(path);
    else if (!(stage === 2 || (work === 1 && stage === 1))) {
      worktree.set(path, await workFileBlob(ctx, path));
    }
  }
  for (const [path, blob] of replace) {
    const side = worktree.has(path) ? worktree : untracked;
    const mode = side.get(path)?.mode ?? "100644";
    side.set(path, {
      oid: await git.writeBlob({ fs: gitObjectsFs, gitdir: ctx.gitdir, blob }),
      mode,
    });
  }
  const short = labels.headOid.slice(0, 7);
  const commit = (tree: string, parent: string[], message: string) =>
    git.writeCommit({
      fs: gitObjectsFs,
      gitdir: ctx.gitdir,
      commit: { tree, parent, message, author: ident, committer: ident },
    });
  const parents = [labels.headOid];
  parents.push(
    await commit(
      await writeFlatTree(ctx.gitdir, index),
      [labels.headOid],
      `index on ${labels.branch}: ${short} ${labels.subject}\n`,
    ),
  );
  if (untracked.size > 0) {
    parents.push(
      await commit(
        await writeFlatTree(ctx.gitdir, untracked),
        [],
        `untracked files on ${labels.branch}: ${short} ${labels.subject}\n`,
      ),
    );
  }
  const sha = await commit(
    await writeFlatTree(ctx.gitdir, worktree),
    parents,
    `On ${labels.branch}: ${labels.message}\n`,
  );
  return { sha, worktree, untracked };
}

/** The index as path → blob, read through isomorphic-git's STAGE walker. */
export async function indexFiles(ctx: WorkTreeContext): Promise<Map<string, GitFile>> {
  const files = new Map<string, GitFile>();
  await git.walk({
    fs,
    dir: ctx.dir,
    gitdir: ctx.gitdir,
    cache: ctx.cache,
    trees: [git.STAGE()],
    map: async (path, [entry]) => {
      if (entry === null || entry === undefined || path === ".") return;
      const type = await entry.type();
      if (type === "tree") return;
      files.set(path, { oid: await entry.oid(), mode: (await entry.mode()).toString(8) });
    },
  });
  return files;
}

/** Stores a work-tree file as a blob and returns it with git's mode for it. */
export async function workFileBlob(ctx: WorkTreeContext, path: string): Promise<GitFile> {
  const abs = join(ctx.dir, ...path.split("/"));
  const info = await lstat(abs);
  let blob: Uint8Array;
  let mode: string;
  if (info.isSymbolicLink()) {
    blob = new TextEncoder().encode(await readlink(abs));
    mode = "120000";
  } else {
    blob = new Uint8Array(await readFile(abs));
    mode = (info.mode & 0o100) !== 0 ? "100755" : "100644";
  }
  return { oid: await git.writeBlob({ fs: gitObjectsFs, gitdir: ctx.gitdir, blob }), mode };
}
