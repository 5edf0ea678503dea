import { readHead, readRefs } from "../../git/refs_read.ts";
import { type GitCache, tagsByCommit } from "../../git/revision.ts";

/**
 * DVC's baseline label (spec §1.6): HEAD's branch when the baseline is HEAD,
 * else the first local tag, else the first local branch, else 7 hex chars.
 * Only local refs are consulted, also when listing a remote.
 */
export async function baselineLabeler(
  gitdir: string,
  cache: GitCache = {},
): Promise<(baseline: string) => string> {
  const head = await readHead(gitdir);
  const tags = await tagsByCommit(gitdir, cache);
  const branches = new Map<string, string>();
  const heads = [...(await readRefs(gitdir, "refs/heads/"))].sort((
    [a],
    [b],
  ) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [ref, oid] of heads) {
    if (!branches.has(oid)) branches.set(oid, ref.slice("refs/heads/".length));
  }
  return (baseline) => {
    if (baseline === head.oid && head.branchRef?.startsWith("refs/heads/")) {
      return head.branchRef.slice("refs/heads/".length);
    }
    return tags.get(baseline)?.[0] ?? branches.get(baseline) ?? baseline.slice(0, 7);
  };
}
