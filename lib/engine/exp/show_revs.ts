import fs from "node:fs";
import git from "isomorphic-git";
import { readHead, readRefs } from "../../git/refs_read.ts";
import { type GitCache, peelToCommit } from "../../git/revision.ts";
import { shallowSet } from "../../git/shallow.ts";

/** A commit with its committer time (seconds since the epoch). */
export interface TimedCommit {
  sha: string;
  time: number;
}

/** Committer time of a commit. */
export async function commitTime(gitdir: string, sha: string, cache: GitCache): Promise<number> {
  const { commit } = await git.readCommit({ fs, gitdir, oid: sha, cache });
  return commit.committer.timestamp;
}

/**
 * Every commit reachable from HEAD, branches, tags and remote-tracking refs
 * (experiment refs excluded: experiments are rows under their baseline, not
 * baselines), plus `extra` commits, newest first. This is what DVC's
 * `exp show -A` lists as baselines.
 */
export async function allCommits(
  gitdir: string,
  extra: readonly string[],
  cache: GitCache,
): Promise<string[]> {
  const starts = new Set<string>(extra);
  const head = (await readHead(gitdir)).oid;
  if (head !== undefined) starts.add(head);
  for (const [ref, oid] of await readRefs(gitdir, "refs/")) {
    if (ref.startsWith("refs/exps/") || ref === "refs/stash") continue;
    const commit = await peelToCommit(gitdir, oid, cache).catch(() => undefined);
    if (commit !== undefined) starts.add(commit);
  }
  const shallow = await shallowSet(gitdir, cache);
  const seen = new Map<string, number>();
  const queue = [...starts];
  while (queue.length > 0) {
    const sha = queue.pop()!;
    if (seen.has(sha)) continue;
    let parents: string[];
    try {
      const { commit } = await git.readCommit({ fs, gitdir, oid: sha, cache });
      seen.set(sha, commit.committer.timestamp);
      // A shallow clone's history ends at the commits listed in .git/shallow.
      parents = shallow.has(sha) ? [] : commit.parent;
    } catch {
      continue; // a missing object: history ends here
    }
    for (const parent of parents) if (!seen.has(parent)) queue.push(parent);
  }
  return [...seen].sort(([a, ta], [b, tb]) => tb - ta || (a < b ? -1 : a > b ? 1 : 0)).map((
    [sha],
  ) => sha);
}
