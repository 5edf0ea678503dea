import * as fs from "node:fs";
import git from "isomorphic-git";
import { CorruptError } from "../errors/mod.ts";
import { objectFetcherOf } from "./promisor.ts";

/** One directory entry; the same shape as lib/dvc's `TreeEntry`. */
export interface GitTreeEntry {
  name: string;
  type: "file" | "dir" | "symlink";
}

/**
 * Read access to one commit's files. Structurally identical to lib/dvc's
 * `ProjectTree` (declared here because lib/git must not import lib/dvc).
 */
export interface CommitTree {
  readFile(path: string): Promise<Uint8Array | undefined>;
  listDir(path: string): Promise<GitTreeEntry[] | undefined>;
}

interface RawEntry {
  mode: string;
  path: string;
  oid: string;
  type: "blob" | "tree" | "commit";
}

const parsedTrees = new WeakMap<object, Map<string, Promise<readonly TreeObjectEntry[]>>>();

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "NotFoundError";
}

/**
 * Reads object `oid` with `read`. A missing object is fetched through the
 * partial-clone fetcher attached to `cache` (then read again); without one
 * it is a one-line CorruptError saying which file of which commit it is.
 */
async function readObjectOf<T>(
  cache: object,
  oid: string,
  what: () => string,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const fetcher = objectFetcherOf(cache);
    if (fetcher !== undefined) {
      await fetcher([oid]);
      return await read();
    }
    throw new CorruptError(
      `Git object '${oid}' (${what()}) is not in this repository: a shallow or partial clone, or an interrupted fetch, left it out; fetch it again or run 'git fsck'.`,
      { cause: error, data: { oid } },
    );
  }
}

/** One entry of a Git tree object, whatever read it. */
export interface TreeObjectEntry {
  readonly name: string;
  readonly mode: string;
  readonly oid: string;
  readonly type: "blob" | "tree" | "commit";
}

/** Where a {@link CommitTree}'s objects come from; `what` says which file or folder, for errors. */
export interface TreeObjectSource {
  /** The commit's root tree id. */
  readonly rootTree: Promise<string>;
  readTree(oid: string, what: string): Promise<readonly TreeObjectEntry[]>;
  readBlob(oid: string, what: string): Promise<Uint8Array>;
}

/**
 * A Git tree's entries as a folder listing: sub-trees as folders, blobs as
 * files or (mode 120000) symlinks; gitlinks (submodules) left out.
 */
export function listedEntries(
  entries: readonly { readonly name: string; readonly type: string; readonly mode: string }[],
): GitTreeEntry[] {
  const out: GitTreeEntry[] = [];
  for (const e of entries) {
    if (e.type === "tree") out.push({ name: e.name, type: "dir" });
    else if (e.type === "blob") {
      out.push({ name: e.name, type: e.mode === "120000" ? "symlink" : "file" });
    }
  }
  return out;
}

/**
 * A {@link CommitTree} over `source`, with `subdir` (relative to the commit's
 * top) as its root: folders are read once, on demand, and remembered.
 * Gitlinks (submodules) are not listed; symlinks are listed, never followed.
 */
export function commitTreeOver(source: TreeObjectSource, short: string, subdir = ""): CommitTree {
  const prefix = subdir.split("/").filter((s) => s !== "" && s !== ".");
  const trees = new Map<string, Promise<readonly TreeObjectEntry[] | undefined>>();
  // Reported once, when a file is read.
  source.rootTree.catch(() => undefined);
  // Entries of the folder at `parts` below the commit's root tree.
  const entriesAt = (parts: readonly string[]): Promise<readonly TreeObjectEntry[] | undefined> => {
    const key = parts.join("/");
    let pending = trees.get(key);
    if (pending === undefined) {
      const at = (oid: string) => source.readTree(oid, `folder '${key || "."}' of commit ${short}`);
      pending = parts.length === 0
        ? source.rootTree.then(at)
        : entriesAt(parts.slice(0, -1)).then((parent) => {
          const entry = parent?.find((e) => e.name === parts[parts.length - 1]);
          return entry?.type === "tree" ? at(entry.oid) : undefined;
        });
      trees.set(key, pending);
    }
    return pending;
  };
  const split = (path: string) => [...prefix, ...path.split("/").filter((s) => s !== "")];
  return {
    async listDir(path) {
      const entries = await entriesAt(split(path));
      return entries === undefined ? undefined : listedEntries(entries);
    },
    async readFile(path) {
      const parts = split(path);
      const name = parts.pop();
      if (name === undefined) return undefined;
      const entry = (await entriesAt(parts))?.find((e) => e.name === name);
      if (entry?.type !== "blob" || entry.mode === "120000") return undefined;
      return await source.readBlob(
        entry.oid,
        `file '${[...parts, name].join("/")}' of commit ${short}`,
      );
    },
  };
}

/**
 * A {@link CommitTree} (a lib/dvc `ProjectTree`) over the tree of commit `commitOid` in the repository
 * at `gitdir`. `subdir` is the DVC root relative to the Git top (`""` when
 * they coincide). Trees are read once and remembered; pass the same `cache`
 * object to several readers to share isomorphic-git's pack cache.
 */
export function gitCommitTree(
  gitdir: string,
  commitOid: string,
  subdir = "",
  cache: object = {},
): CommitTree {
  const rootTree = (async () => {
    const { commit } = await readObjectOf(
      cache,
      commitOid,
      () => "a commit",
      () => git.readCommit({ fs, gitdir, oid: commitOid, cache }),
    );
    return commit.tree;
  })();
  // Trees are content-addressed, so readers sharing `cache` share parsed trees
  // too: an experiment re-reads almost nothing of its baseline's tree.
  let shared = parsedTrees.get(cache);
  if (shared === undefined) parsedTrees.set(cache, shared = new Map());
  const byOid = shared;
  return commitTreeOver(
    {
      rootTree,
      readTree(oid, what) {
        let pending = byOid.get(oid);
        if (pending === undefined) {
          pending = readObjectOf(
            cache,
            oid,
            () => what,
            () => git.readTree({ fs, gitdir, oid, cache }),
          )
            .then(({ tree }) =>
              (tree as RawEntry[]).map((e) => ({
                name: e.path,
                mode: e.mode,
                oid: e.oid,
                type: e.type,
              }))
            );
          pending.catch(() => byOid.delete(oid));
          byOid.set(oid, pending);
        }
        return pending;
      },
      async readBlob(oid, what) {
        const { blob } = await readObjectOf(
          cache,
          oid,
          () => what,
          () => git.readBlob({ fs, gitdir, oid, cache }),
        );
        return blob;
      },
    },
    commitOid.slice(0, 7),
    subdir,
  );
}
