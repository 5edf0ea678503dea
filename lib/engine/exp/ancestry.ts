import fs from "node:fs";
import git from "isomorphic-git";
import type { GitCache } from "../../git/revision.ts";

/**
 * True when `ancestor` is reachable from `descendant` (a fast-forward from
 * one to the other). False when either commit is unknown locally: DVC counts
 * an unknown remote commit as diverged too (spec §6.2).
 */
export async function isAncestor(
  gitdir: string,
  ancestor: string,
  descendant: string,
  cache: GitCache = {},
): Promise<boolean> {
  if (ancestor === descendant) return true;
  try {
    return await git.isDescendent({ fs, gitdir, oid: descendant, ancestor, depth: -1, cache });
  } catch {
    return false;
  }
}
