/**
 * The server side of one fetch, in-process (a local-path remote): what
 * `git-upload-pack` answers, shallow clients included — the commits cut by
 * `deepen`, the client's shallow commits that a deeper history now covers,
 * and the pack under those boundaries.
 */
import { CorruptError } from "../../errors/mod.ts";
import type { FetchedPack, FetchRequest } from "../transport/types.ts";
import { readShallow } from "../shallow.ts";
import { buildPack } from "./build_pack.ts";
import { parseCommit, parseTag } from "./object_parse.ts";
import type { ObjectStore } from "./object_store.ts";
import { planObjects } from "./objects_to_send.ts";

/** git's INFINITE_DEPTH (`--unshallow` sends it). */
const INFINITE_DEPTH = 0x7fffffff;

async function commitOf(store: ObjectStore, oid: string): Promise<string | undefined> {
  let current = oid;
  for (let i = 0; i < 10; i++) {
    const obj = await store.tryRead(current);
    if (obj === undefined) return undefined;
    if (obj.type === "commit") return current;
    if (obj.type !== "tag") return undefined;
    current = parseTag(current, obj.data).object;
  }
  return undefined;
}

async function parentsOf(store: ObjectStore, oid: string): Promise<string[]> {
  const obj = await store.read(oid);
  if (obj.type !== "commit") {
    throw new CorruptError(`Git object '${oid}' is a ${obj.type}, not a commit.`);
  }
  return parseCommit(oid, obj.data).parents;
}

/**
 * git's `get_shallow_commits`: walking down from `heads` (depth 1), a
 * commit at `depth` — or one where this repository's own history stops —
 * is a shallow cut; commits above the cut are "not shallow". A breadth-first
 * walk meets each commit first at its smallest depth, which is what git's
 * re-walks converge to.
 */
async function shallowCuts(
  store: ObjectStore,
  heads: readonly string[],
  depth: number,
  ownShallow: ReadonlySet<string>,
): Promise<{ cuts: Set<string>; above: Set<string> }> {
  const cuts = new Set<string>();
  const above = new Set<string>();
  const seen = new Set<string>();
  let level: string[] = [];
  for (const head of heads) {
    const commit = await commitOf(store, head);
    if (commit !== undefined && !seen.has(commit)) {
      seen.add(commit);
      level.push(commit);
    }
  }
  for (let d = 1; level.length > 0; d++) {
    const next: string[] = [];
    for (const oid of level) {
      if (d >= depth || ownShallow.has(oid)) {
        cuts.add(oid);
        continue;
      }
      above.add(oid);
      for (const parent of await parentsOf(store, oid)) {
        if (!seen.has(parent)) {
          seen.add(parent);
          next.push(parent);
        }
      }
    }
    level = next;
  }
  return { cuts, above };
}

/**
 * Answers `request` from the repository at `gitdir` as git-upload-pack does:
 * with `depth`, the new shallow cuts (`shallow`) and the client's shallow
 * commits now covered (`unshallow`, whose parents then come too); without
 * it, the client's shallow commits only bound the walk, and this
 * repository's own shallow commits the pack reaches are named.
 */
export async function serveFetch(
  gitdir: string,
  store: ObjectStore,
  request: FetchRequest,
): Promise<FetchedPack> {
  const own = await readShallow(gitdir);
  const client = new Set<string>();
  for (const oid of request.shallow ?? []) {
    // A shallow commit we do not know cannot matter to our walk (git ignores it too).
    if (await store.has(oid)) client.add(oid);
  }
  const wants = [...request.wants];
  const haves = [...request.haves];
  let shallow: string[] = [];
  const unshallow: string[] = [];
  if (request.depth !== undefined) {
    const depth = request.depth > 0 ? request.depth : INFINITE_DEPTH;
    const { cuts, above } = await shallowCuts(store, request.wants, depth, own);
    shallow = [...cuts].filter((oid) => !above.has(oid) && !client.has(oid));
    for (const oid of client) {
      if (!above.has(oid)) continue;
      unshallow.push(oid);
      // Its parents are wanted now; the commit itself the client has.
      wants.push(...await parentsOf(store, oid));
      haves.push(oid);
    }
  } else if (own.size > 0) {
    const { cuts } = await shallowCuts(store, request.wants, INFINITE_DEPTH, own);
    shallow = [...cuts].filter((oid) => own.has(oid) && !client.has(oid));
  }
  const plan = await planObjects(gitdir, wants, haves, {
    store,
    extraShallow: [...client, ...shallow],
  });
  const pack = await buildPack(gitdir, plan.oids, { store });
  return { pack, shallow, unshallow };
}
