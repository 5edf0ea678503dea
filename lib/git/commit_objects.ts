/**
 * Which objects of a commit's snapshot are not in the local repository: its
 * tree, every tree below it and every blob. A partial clone leaves blobs out
 * on purpose; a broken fetch leaves anything out.
 */
import { ObjectStore } from "./pack/object_store.ts";
import { parseCommit, parseTree } from "./pack/object_parse.ts";
import { objectFetcherOf } from "./promisor.ts";

/**
 * The missing objects under the trees of `commits` (a missing commit is
 * itself reported). Trees already found complete in `checked` are skipped,
 * so many experiments sharing a baseline's folders cost one walk.
 */
export async function missingSnapshotObjects(
  store: ObjectStore,
  commits: Iterable<string>,
  checked: Set<string> = new Set(),
): Promise<string[]> {
  const missing = new Set<string>();
  const walkTree = async (oid: string): Promise<void> => {
    if (checked.has(oid)) return;
    const obj = await store.tryRead(oid);
    if (obj === undefined) {
      missing.add(oid);
      return;
    }
    checked.add(oid);
    const blobs: string[] = [];
    for (const entry of parseTree(oid, obj.data)) {
      if (entry.type === "tree") await walkTree(entry.oid);
      else if (entry.type === "blob" && !checked.has(entry.oid)) blobs.push(entry.oid);
      // Submodule entries (type "commit") name objects of another repository.
    }
    for (const blob of blobs) {
      if (await store.has(blob)) checked.add(blob);
      else missing.add(blob);
    }
  };
  for (const commit of commits) {
    const obj = await store.tryRead(commit);
    if (obj === undefined || obj.type !== "commit") {
      missing.add(commit);
      continue;
    }
    await walkTree(parseCommit(commit, obj.data).tree);
  }
  return [...missing];
}

/** How many fetch rounds a snapshot may take (one per tree level a filter left out). */
const MAX_ROUNDS = 64;

/**
 * The objects of `commit`'s snapshot still missing after fetching them
 * through the partial-clone fetcher attached to `cache` (see promisor.ts);
 * empty when the snapshot is complete here.
 */
export async function completeSnapshot(
  gitdir: string,
  commit: string,
  cache: object = {},
): Promise<string[]> {
  const store = ObjectStore.open(gitdir);
  try {
    const checked = new Set<string>();
    let missing = await missingSnapshotObjects(store, [commit], checked);
    const fetcher = objectFetcherOf(cache);
    for (
      let round = 0;
      fetcher !== undefined && missing.length > 0 && round < MAX_ROUNDS;
      round++
    ) {
      // A commit itself is never left out on purpose: fetching cannot be the fix.
      if (missing.includes(commit)) break;
      await fetcher(missing);
      missing = await missingSnapshotObjects(store, [commit], checked);
    }
    return missing;
  } finally {
    await store.close();
  }
}
