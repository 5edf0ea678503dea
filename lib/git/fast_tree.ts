import { parseCommit, type ParsedTreeEntry, parseTree } from "./pack/object_parse.ts";
import { ObjectStore } from "./pack/object_store.ts";
import { type CommitTree, listedEntries } from "./tree_reader.ts";

/** What several {@link fastCommitTree}s of one command share. */
export interface TreeReaders {
  readonly store: ObjectStore;
  /** Parsed trees by oid: an experiment shares most of its baseline's. */
  readonly trees: Map<string, Promise<ParsedTreeEntry[] | undefined>>;
}

/** Readers over the repository at `gitdir`; `store.close()` them when done (packs stay open). */
export function openTreeReaders(gitdir: string): TreeReaders {
  return { store: ObjectStore.open(gitdir), trees: new Map() };
}

/**
 * The files of commit `commit` read straight from the repository's packs
 * and loose objects (lib/git's ObjectStore: native inflate, no per-object
 * file-system probing), which is what makes `exp show -A` over thousands
 * of experiments quick, and a push or pull's planning a few ms shorter
 * than inflating in JavaScript. An object it cannot read (a partial clone's
 * left-out blob, anything odd) sends that call to `fallback`, the
 * isomorphic-git reader that knows how to fetch it.
 */
export function fastCommitTree(
  readers: TreeReaders,
  commit: string,
  subdir: string,
  fallback: () => CommitTree,
): CommitTree {
  const prefix = subdir.split("/").filter((s) => s !== "" && s !== ".");
  let slow: CommitTree | undefined;
  const other = () => (slow ??= fallback());
  const root = readers.store.tryRead(commit).then((object) =>
    object?.type === "commit" ? parseCommit(commit, object.data).tree : undefined
  );
  const treeAt = async (oid: string) => {
    let pending = readers.trees.get(oid);
    if (pending === undefined) {
      pending = readers.store.tryRead(oid).then((object) =>
        object?.type === "tree" ? parseTree(oid, object.data) : undefined
      );
      readers.trees.set(oid, pending);
    }
    return await pending;
  };
  /** Entries of the folder at `parts`; null when it is not a folder; undefined: ask the fallback. */
  const entriesAt = async (parts: readonly string[]) => {
    const top = await root;
    if (top === undefined) return undefined;
    let entries = await treeAt(top);
    for (const part of parts) {
      if (entries === undefined) return undefined;
      const entry = entries.find((e) => e.name === part);
      if (entry?.type !== "tree") return null;
      entries = await treeAt(entry.oid);
    }
    return entries;
  };
  const split = (path: string) => [...prefix, ...path.split("/").filter((s) => s !== "")];
  return {
    async listDir(path) {
      const entries = await entriesAt(split(path)).catch(() => undefined);
      if (entries === undefined) return await other().listDir(path);
      if (entries === null) return undefined;
      return listedEntries(entries);
    },
    async readFile(path) {
      const parts = split(path);
      const name = parts.pop();
      if (name === undefined) return undefined;
      const entries = await entriesAt(parts).catch(() => undefined);
      if (entries === undefined) return await other().readFile(path);
      if (entries === null) return undefined;
      const entry = entries.find((e) => e.name === name);
      if (entry?.type !== "blob" || entry.mode === "120000") return undefined;
      const blob = await readers.store.tryRead(entry.oid).catch(() => undefined);
      if (blob?.type !== "blob") return await other().readFile(path);
      return blob.data;
    },
  };
}

/** Committer time of `commit` from the object store, or undefined when it cannot be read there. */
export async function storeCommitTime(
  store: ObjectStore,
  commit: string,
): Promise<number | undefined> {
  const object = await store.tryRead(commit).catch(() => undefined);
  return object?.type === "commit" ? parseCommit(commit, object.data).time : undefined;
}
