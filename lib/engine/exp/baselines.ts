import { readHead } from "../../git/refs_read.ts";
import { firstParentChain, type GitCache, resolveRevision } from "../../git/revision.ts";

/**
 * DVC's `iter_revs` (spec §1.5): each `--rev` (default HEAD) resolved locally
 * and expanded to `num` first-parent commits (negative: all, 0: none).
 * Returned in expansion order, without duplicates.
 */
export async function expandBaselines(
  gitdir: string,
  revs: readonly string[],
  num: number,
  cache: GitCache = {},
): Promise<string[]> {
  const out: string[] = [];
  // A repository without commits has no baselines; only an explicit --rev is an error then.
  if (revs.length === 0 && (await readHead(gitdir)).oid === undefined) return out;
  for (const rev of revs.length === 0 ? ["HEAD"] : revs) {
    const oid = await resolveRevision(gitdir, rev, cache);
    for (const sha of await firstParentChain(gitdir, oid, num, cache)) {
      if (!out.includes(sha)) out.push(sha);
    }
  }
  return out;
}
