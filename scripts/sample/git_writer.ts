import * as fs from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import git from "isomorphic-git";

/** A file of a commit: its bytes and Git mode. */
export interface GitFile {
  content: Uint8Array;
  mode?: "100644" | "100755";
}

/** Author/committer of the sample commits (fixed, so SHAs are stable). */
export interface Identity {
  name: string;
  email: string;
}

/**
 * Writes blobs and nested trees for `files` (path → content) and returns the
 * root tree's oid. isomorphic-git sorts entries in Git's order.
 */
export async function writeFilesTree(gitdir: string, files: Map<string, GitFile>): Promise<string> {
  interface Node {
    blobs: { path: string; oid: string; mode: string }[];
    dirs: Map<string, Node>;
  }
  const root: Node = { blobs: [], dirs: new Map() };
  for (const [path, file] of files) {
    const parts = path.split("/");
    const name = parts.pop()!;
    let node = root;
    for (const part of parts) {
      let next = node.dirs.get(part);
      if (!next) node.dirs.set(part, next = { blobs: [], dirs: new Map() });
      node = next;
    }
    const oid = await git.writeBlob({ fs, gitdir, blob: file.content });
    node.blobs.push({ path: name, oid, mode: file.mode ?? "100644" });
  }
  const write = async (node: Node): Promise<string> => {
    const tree = node.blobs.map((b) => ({ ...b, type: "blob" as const }));
    for (const [path, child] of node.dirs) {
      tree.push({ path, oid: await write(child), mode: "040000", type: "tree" as never });
    }
    return git.writeTree({ fs, gitdir, tree });
  };
  return write(root);
}

/** Writes a commit with fixed identities and time stamps (UTC). */
export function writeCommit(
  gitdir: string,
  args: {
    tree: string;
    parents: string[];
    message: string;
    time: number;
    author: Identity;
    committer: Identity;
  },
): Promise<string> {
  return git.writeCommit({
    fs,
    gitdir,
    commit: {
      tree: args.tree,
      parent: args.parents,
      message: args.message.endsWith("\n") ? args.message : `${args.message}\n`,
      author: { ...args.author, timestamp: args.time, timezoneOffset: 0 },
      committer: { ...args.committer, timestamp: args.time, timezoneOffset: 0 },
    },
  });
}

/** Every object reachable from `commit` (commits, trees, blobs). */
export async function reachableObjects(gitdir: string, commit: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const cache = {};
  const walkTree = async (oid: string): Promise<void> => {
    if (seen.has(oid)) return;
    seen.add(oid);
    const { tree } = await git.readTree({ fs, gitdir, oid, cache });
    for (const entry of tree) {
      if (entry.type === "tree") await walkTree(entry.oid);
      else if (entry.type === "blob") seen.add(entry.oid);
    }
  };
  const pending = [commit];
  while (pending.length > 0) {
    const oid = pending.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    const { commit: parsed } = await git.readCommit({ fs, gitdir, oid, cache });
    await walkTree(parsed.tree);
    pending.push(...parsed.parent);
  }
  return seen;
}

/**
 * Makes a bare repository at `bareDir` holding branch `branch` = `commit`,
 * by copying the loose objects isomorphic-git wrote (no git binary needed).
 */
export async function makeBareWith(
  srcGitdir: string,
  bareDir: string,
  branch: string,
  commit: string,
): Promise<void> {
  await git.init({ fs, gitdir: bareDir, bare: true, defaultBranch: branch });
  await writeFile(join(bareDir, "config"), BARE_CONFIG);
  for (const oid of await reachableObjects(srcGitdir, commit)) {
    const rel = join("objects", oid.slice(0, 2), oid.slice(2));
    const target = join(bareDir, rel);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(srcGitdir, rel), target);
  }
  await git.writeRef({
    fs,
    gitdir: bareDir,
    ref: `refs/heads/${branch}`,
    value: commit,
    force: true,
  });
}

/** `config` of a bare repository as `git init --bare` writes it on Linux. */
const BARE_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n";

/** `.git/config` as `git init` + `git remote add` + `git push -u` leave it on Linux. */
export const REPO_GIT_CONFIG = `[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
[remote "origin"]
\turl = ../origin.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
\tremote = origin
\tmerge = refs/heads/main
`;
