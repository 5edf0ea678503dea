import fs from "node:fs";
import git from "isomorphic-git";
import { InvalidArgumentError } from "../errors/mod.ts";
import { haveObject } from "./have_object.ts";
import { readHead, readRef, readRefs } from "./refs_read.ts";
import { shallowSet } from "./shallow.ts";

/** Shared isomorphic-git object cache for one command (speeds up repeated reads). */
export type GitCache = Record<string, unknown>;

/**
 * Resolves a revision as git does for the forms users type: `HEAD`, full or
 * short SHA, branch, tag, `refs/…`, remote-tracking names, with `~N`, `^` and
 * `^N` suffixes. Returns the commit SHA (annotated tags peeled) or throws
 * DVC's `unknown Git revision '<rev>'`.
 */
export async function resolveRevision(
  gitdir: string,
  rev: string,
  cache: GitCache = {},
): Promise<string> {
  const match = /^(.*?)((?:[~^]\d*)*)$/.exec(rev);
  const base = match?.[1] ?? rev;
  const suffix = match?.[2] ?? "";
  const unknown = () => new InvalidArgumentError(`unknown Git revision '${rev}'`);
  const found = base === "" ? undefined : await resolveBase(gitdir, base, cache);
  if (found === undefined) throw unknown();
  const peeled = await peelToCommit(gitdir, found, cache).catch(() => undefined);
  if (peeled === undefined) throw unknown();
  let oid: string = peeled;
  for (const step of suffix.matchAll(/([~^])(\d*)/g)) {
    const count = step[2] === "" ? 1 : Number(step[2]);
    if (step[1] === "~") {
      for (let i = 0; i < count; i++) {
        const parent: string | undefined = (await readParents(gitdir, oid, cache))[0];
        if (parent === undefined) throw unknown();
        oid = parent;
      }
    } else if (count > 0) {
      const parent: string | undefined = (await readParents(gitdir, oid, cache))[count - 1];
      if (parent === undefined) throw unknown();
      oid = parent;
    }
  }
  return oid;
}

/**
 * The parents of a commit, first parent first. A commit listed in
 * `.git/shallow` has none: history ends there, as in git's own walks.
 */
export async function readParents(
  gitdir: string,
  oid: string,
  cache: GitCache = {},
): Promise<string[]> {
  if ((await shallowSet(gitdir, cache)).has(oid)) return [];
  const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
  return commit.parent;
}

/**
 * `rev`, `rev~1`, `rev~2`, … up to `num` commits (negative: all), as DVC's
 * `iter_revs` expands `--rev`/`-n` (spec §1.5).
 */
export async function firstParentChain(
  gitdir: string,
  oid: string,
  num: number,
  cache: GitCache = {},
): Promise<string[]> {
  const out: string[] = [];
  let current: string | undefined = oid;
  while (current !== undefined && (num < 0 || out.length < num)) {
    out.push(current);
    current = (await readParents(gitdir, current, cache))[0];
  }
  return out;
}

async function resolveBase(
  gitdir: string,
  base: string,
  cache: GitCache,
): Promise<string | undefined> {
  if (base === "HEAD" || base === "@") return (await readHead(gitdir)).oid;
  if (/^[0-9a-f]{40}$/.test(base)) {
    return (await haveObject(gitdir, base, cache)) ? base : undefined;
  }
  const candidates = base.startsWith("refs/") ? [base] : [
    base,
    `refs/${base}`,
    `refs/tags/${base}`,
    `refs/heads/${base}`,
    `refs/remotes/${base}`,
    `refs/remotes/${base}/HEAD`,
  ];
  for (const ref of candidates) {
    if (!ref.startsWith("refs/") && ref !== "FETCH_HEAD" && ref !== "ORIG_HEAD") continue;
    const oid = await readRef(gitdir, ref);
    if (oid !== undefined) return oid;
  }
  if (/^[0-9a-f]{4,39}$/.test(base)) {
    try {
      return await git.expandOid({ fs, gitdir, oid: base, cache });
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Follows annotated tags down to the commit they point at. */
export async function peelToCommit(
  gitdir: string,
  oid: string,
  cache: GitCache = {},
): Promise<string> {
  let current = oid;
  for (let depth = 0; depth < 10; depth++) {
    const object = await git.readObject({ fs, gitdir, oid: current, format: "parsed", cache });
    if (object.type === "commit") return current;
    if (object.type !== "tag") throw new Error(`'${oid}' is not a commit`);
    current = (object.object as { object: string }).object;
  }
  throw new Error(`tag chain too deep at '${oid}'`);
}

/** Local tags grouped by the commit they (peeled) point at, names in ref order. */
export async function tagsByCommit(
  gitdir: string,
  cache: GitCache = {},
): Promise<Map<string, string[]>> {
  const byCommit = new Map<string, string[]>();
  const tags = await readRefs(gitdir, "refs/tags/");
  for (const [ref, oid] of [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const commit = await peelToCommit(gitdir, oid, cache).catch(() => undefined);
    if (commit === undefined) continue;
    const list = byCommit.get(commit) ?? [];
    list.push(ref.slice("refs/tags/".length));
    byCommit.set(commit, list);
  }
  return byCommit;
}
