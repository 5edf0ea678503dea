import { readParents } from "../../git/revision.ts";
import type { GitCache } from "../../git/revision.ts";

/**
 * The commits of an experiment (spec §3.1): from the tip along first parents,
 * stopping before the baseline; if the baseline is never met the walk ends
 * at the root, as DVC's does. Normally exactly one commit.
 */
export async function expCommits(
  gitdir: string,
  tip: string,
  baseline: string,
  cache: GitCache = {},
): Promise<string[]> {
  const commits: string[] = [];
  let current: string | undefined = tip;
  const seen = new Set<string>();
  while (current !== undefined && current !== baseline && !seen.has(current)) {
    seen.add(current);
    commits.push(current);
    current = (await readParents(gitdir, current, cache))[0];
  }
  return commits;
}
