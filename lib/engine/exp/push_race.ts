import type { GitCache } from "../../git/revision.ts";
import type { Transport } from "../../git/transport/types.ts";
import { isAncestor } from "./ancestry.ts";
import type { ExpSyncEntry } from "./sync_types.ts";

/**
 * Reasons a receiving end gives when the ref changed (or was being changed)
 * between its advertisement and our update: git's "failed to lock" /
 * "failed to update ref" / "cannot lock ref", our own stores' "stale info".
 */
const MOVED_UNDER_US = /stale info|failed to lock|cannot lock|failed to update ref|fetch first/i;

/** How often, and how far apart, the remote is read again while the winner's update lands. */
const READS = 5;
const READ_GAP_MS = 100;

/**
 * Two clones pushing the same experiment name at once: both read the same
 * advertisement, the receiving end takes one update and refuses the other
 * with a lock or compare-and-swap error. The loser then stands where a
 * rerun would stand — the remote holds someone else's commit — so it is
 * told what a rerun would say: "diverged" (or "up to date" when the winner
 * pushed the same commit). Reads the remote's refs again (a separate
 * request, only on this error path); the winner may still hold the lock for
 * a moment, so a ref that has not moved yet is read again a few times. An
 * entry whose ref never moves keeps the remote's own reason.
 */
export async function reclassifyRaceLosers(
  entries: readonly ExpSyncEntry[],
  context: {
    readonly transport: Transport;
    readonly gitdir: string;
    readonly cache: GitCache;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<void> {
  let pending = entries.filter((e) =>
    e.status === "rejected" && MOVED_UNDER_US.test(e.reason ?? "")
  );
  for (let read = 0; read < READS && pending.length > 0; read++) {
    if (read > 0) await new Promise((resolve) => setTimeout(resolve, READ_GAP_MS));
    let refs: ReadonlyMap<string, string>;
    try {
      refs = (await context.transport.listRefs({
        prefixes: ["refs/exps/"],
        ...(context.signal ? { signal: context.signal } : {}),
      })).refs;
    } catch {
      return; // the push itself is over; the remote's own reasons stand
    }
    const unmoved: ExpSyncEntry[] = [];
    for (const entry of pending) {
      const now = refs.get(entry.ref);
      if (now === entry.previousSha) {
        unmoved.push(entry);
      } else if (now === entry.sha) {
        entry.status = "up_to_date";
        delete entry.reason;
      } else if (
        now !== undefined && !(await isAncestor(context.gitdir, now, entry.sha, context.cache))
      ) {
        entry.status = "diverged";
        delete entry.reason;
      }
      // Moved to one of our ancestors, or deleted: a plain rerun succeeds; the reason stands.
    }
    pending = unmoved;
  }
}
