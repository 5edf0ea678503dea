import fs from "node:fs";
import git from "isomorphic-git";
import type { GitCache } from "./revision.ts";

/** True when the local object store has `oid` (loose or packed). */
export async function haveObject(
  gitdir: string,
  oid: string,
  cache: GitCache = {},
): Promise<boolean> {
  try {
    await git.readObject({ fs, gitdir, oid, format: "deflated", cache });
    return true;
  } catch {
    return false;
  }
}
