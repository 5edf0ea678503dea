/**
 * Reading the commits a bundle brings before they are in the repository:
 * the pack is stored in a quarantine object folder whose `info/alternates`
 * names the repository's own, and these readers go through an
 * {@link ObjectStore} over it (isomorphic-git does not follow alternates).
 */
import { CorruptError } from "../errors/mod.ts";
import type { ObjectStore } from "./pack/object_store.ts";
import { parseCommit, type ParsedTreeEntry, parseTree } from "./pack/object_parse.ts";
import type { CommitTree, GitTreeEntry } from "./tree_reader.ts";

async function readTyped(store: ObjectStore, oid: string, type: string, what: string) {
  const object = await store.tryRead(oid);
  if (object === undefined) {
    throw new CorruptError(`Git object '${oid}' (${what}) is neither in the bundle nor here.`);
  }
  if (object.type !== type) {
    throw new CorruptError(`Git object '${oid}' (${what}) is a ${object.type}, not a ${type}.`);
  }
  return object.data;
}

/**
 * The commits of an experiment as DVC counts them (spec §3.1): from `tip`
 * along first parents, stopping before `baseline` (or at a root).
 */
export async function storeExpCommits(
  store: ObjectStore,
  tip: string,
  baseline: string,
): Promise<string[]> {
  const commits: string[] = [];
  let current: string | undefined = tip;
  while (current !== undefined && current !== baseline && !commits.includes(current)) {
    commits.push(current);
    const data = await readTyped(store, current, "commit", "a commit");
    current = parseCommit(current, data).parents[0];
  }
  return commits;
}

/** A {@link CommitTree} of commit `commit`, with `subdir` as its root (`""`: the top). */
export function storeCommitTree(store: ObjectStore, commit: string, subdir = ""): CommitTree {
  const prefix = subdir.split("/").filter((s) => s !== "" && s !== ".");
  const short = commit.slice(0, 7);
  const trees = new Map<string, Promise<ParsedTreeEntry[] | undefined>>();
  const root = readTyped(store, commit, "commit", "a commit").then((data) =>
    parseCommit(commit, data).tree
  );
  root.catch(() => undefined);
  const entriesAt = (parts: readonly string[]): Promise<ParsedTreeEntry[] | undefined> => {
    const key = parts.join("/");
    let pending = trees.get(key);
    if (pending === undefined) {
      const at = (oid: string) =>
        readTyped(store, oid, "tree", `folder '${key || "."}' of commit ${short}`).then((data) =>
          parseTree(oid, data)
        );
      pending = parts.length === 0 ? root.then(at) : entriesAt(parts.slice(0, -1)).then((up) => {
        const entry = up?.find((e) => e.name === parts[parts.length - 1]);
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
      if (entries === undefined) return undefined;
      const out: GitTreeEntry[] = [];
      for (const e of entries) {
        if (e.type === "tree") out.push({ name: e.name, type: "dir" });
        else if (e.type === "blob") {
          out.push({ name: e.name, type: e.mode === "120000" ? "symlink" : "file" });
        }
      }
      return out;
    },
    async readFile(path) {
      const parts = split(path);
      const name = parts.pop();
      if (name === undefined) return undefined;
      const entry = (await entriesAt(parts))?.find((e) => e.name === name);
      if (entry?.type !== "blob" || entry.mode === "120000") return undefined;
      return await readTyped(
        store,
        entry.oid,
        "blob",
        `file '${[...parts, name].join("/")}' of commit ${short}`,
      );
    },
  };
}

/** Slack for committer clocks when deciding a commit is too old to lead to another. */
const CLOCK_SLOP = 24 * 3600;

/**
 * True when `ancestor` is reachable from `descendant` through the store
 * (quarantined commits included). Walks parents newest first and does not
 * go below commits older than `ancestor` by more than a day. Unknown
 * commits count as not related (DVC calls that diverged).
 */
export async function storeIsAncestor(
  store: ObjectStore,
  ancestor: string,
  descendant: string,
): Promise<boolean> {
  if (ancestor === descendant) return true;
  const target = await store.tryRead(ancestor);
  if (target === undefined || target.type !== "commit") return false;
  const floor = parseCommit(ancestor, target.data).time - CLOCK_SLOP;
  const seen = new Set<string>([descendant]);
  const queue = [descendant];
  while (queue.length > 0) {
    const oid = queue.shift()!;
    const object = await store.tryRead(oid);
    if (object === undefined || object.type !== "commit") continue;
    const commit = parseCommit(oid, object.data);
    if (commit.time < floor) continue;
    for (const parent of commit.parents) {
      if (parent === ancestor) return true;
      if (!seen.has(parent)) {
        seen.add(parent);
        queue.push(parent);
      }
    }
  }
  return false;
}
