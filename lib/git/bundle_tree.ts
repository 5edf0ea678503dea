/**
 * Reading the commits a bundle brings before they are in the repository:
 * the pack is stored in a quarantine object folder whose `info/alternates`
 * names the repository's own, and these readers go through an
 * {@link ObjectStore} over it (isomorphic-git does not follow alternates).
 */
import { CorruptError } from "../errors/mod.ts";
import type { ObjectStore } from "./pack/object_store.ts";
import { parseCommit, parseTree } from "./pack/object_parse.ts";
import { type CommitTree, commitTreeOver } from "./tree_reader.ts";

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
  const rootTree = readTyped(store, commit, "commit", "a commit").then((data) =>
    parseCommit(commit, data).tree
  );
  return commitTreeOver(
    {
      rootTree,
      readTree: async (oid, what) => parseTree(oid, await readTyped(store, oid, "tree", what)),
      readBlob: (oid, what) => readTyped(store, oid, "blob", what),
    },
    commit.slice(0, 7),
    subdir,
  );
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
