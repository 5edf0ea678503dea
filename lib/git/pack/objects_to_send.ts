/**
 * Which objects a pack must carry so the other side, which has `haves`, can
 * use `wants` — git's `rev-list --objects --objects-edge <wants> --not <haves>`.
 */
import { CorruptError } from "../../errors/mod.ts";
import { ObjectStore } from "./object_store.ts";
import { parseCommit, type ParsedTreeEntry, parseTag, parseTree } from "./object_parse.ts";

interface WalkCommit {
  oid: string;
  tree: string;
  parents: string[];
  time: number;
}

/** How many extra commits to walk once only uninteresting ones are queued (clock skew). */
const SLOP = 5;

class ObjectReader {
  constructor(readonly store: ObjectStore) {}

  async parsed(oid: string) {
    return await this.store.read(oid);
  }

  async commit(oid: string): Promise<WalkCommit> {
    const obj = await this.store.read(oid);
    if (obj.type !== "commit") {
      throw new CorruptError(`Git object '${oid}' is a ${obj.type}, not a commit.`);
    }
    return { oid, ...parseCommit(oid, obj.data) };
  }

  async tree(oid: string): Promise<ParsedTreeEntry[]> {
    const obj = await this.store.read(oid);
    if (obj.type !== "tree") {
      throw new CorruptError(`Git object '${oid}' is a ${obj.type}, not a tree.`);
    }
    return parseTree(oid, obj.data);
  }
}

/** Peels tags: returns the commit oid a tip names, adding tag objects to `tags`. */
async function peelToCommit(
  reader: ObjectReader,
  oid: string,
  tags: string[],
): Promise<string | null> {
  let current = oid;
  for (let depth = 0; depth < 10; depth++) {
    const obj = await reader.parsed(current);
    if (obj.type === "commit") return current;
    if (obj.type !== "tag") return null;
    tags.push(current);
    current = parseTag(current, obj.data).object;
  }
  return null;
}

/** Marks every tree and blob under `treeOid` as already present on the other side. */
async function markTreeUninteresting(
  reader: ObjectReader,
  treeOid: string,
  seen: Set<string>,
): Promise<void> {
  if (seen.has(treeOid)) return;
  seen.add(treeOid);
  for (const entry of await reader.tree(treeOid)) {
    if (entry.type === "tree") await markTreeUninteresting(reader, entry.oid, seen);
    else if (entry.type === "blob") seen.add(entry.oid);
  }
}

/** Adds `treeOid` and everything under it that is not in `seen`. */
async function addTree(
  reader: ObjectReader,
  treeOid: string,
  seen: Set<string>,
  out: string[],
): Promise<void> {
  if (seen.has(treeOid)) return;
  seen.add(treeOid);
  out.push(treeOid);
  for (const entry of await reader.tree(treeOid)) {
    if (entry.type === "tree") await addTree(reader, entry.oid, seen, out);
    else if (entry.type === "blob" && !seen.has(entry.oid)) {
      seen.add(entry.oid);
      out.push(entry.oid);
    }
    // Submodule entries (type "commit") name objects of another repository.
  }
}

/** Date-ordered walk separating commits reachable only from the interesting tips. */
async function walkCommits(
  reader: ObjectReader,
  wantCommits: string[],
  haveCommits: string[],
): Promise<{ interesting: WalkCommit[]; edges: WalkCommit[] }> {
  const info = new Map<string, WalkCommit>();
  const uninteresting = new Set<string>();
  const queued = new Set<string>();
  const processed = new Set<string>();
  const queue: WalkCommit[] = [];

  const enqueue = async (oid: string) => {
    if (queued.has(oid)) return;
    queued.add(oid);
    let c = info.get(oid);
    if (c === undefined) {
      c = await reader.commit(oid);
      info.set(oid, c);
    }
    // Keep the queue sorted newest first; it stays small (the walk frontier).
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.time < c.time) i--;
    queue.splice(i, 0, c);
  };
  // A commit found uninteresting after it was processed passes that on to its processed ancestors.
  const propagate = (oid: string) => {
    const stack = [oid];
    while (stack.length > 0) {
      const cur = stack.pop()!;
      for (const p of info.get(cur)?.parents ?? []) {
        if (uninteresting.has(p)) continue;
        uninteresting.add(p);
        if (processed.has(p)) stack.push(p);
      }
    }
  };

  for (const oid of haveCommits) {
    uninteresting.add(oid);
    await enqueue(oid);
  }
  for (const oid of wantCommits) await enqueue(oid);

  let slop = SLOP;
  while (queue.length > 0) {
    if (queue.every((c) => uninteresting.has(c.oid))) {
      if (slop-- <= 0) break;
    } else {
      slop = SLOP;
    }
    const c = queue.shift()!;
    queued.delete(c.oid);
    processed.add(c.oid);
    if (uninteresting.has(c.oid)) {
      propagate(c.oid);
      for (const p of c.parents) if (!processed.has(p)) await enqueue(p);
    } else {
      for (const p of c.parents) if (!processed.has(p)) await enqueue(p);
    }
  }

  const interesting: WalkCommit[] = [];
  const edges = new Map<string, WalkCommit>();
  for (const oid of processed) {
    if (uninteresting.has(oid)) continue;
    const c = info.get(oid)!;
    interesting.push(c);
    for (const p of c.parents) {
      if (uninteresting.has(p)) edges.set(p, info.get(p) ?? await reader.commit(p));
    }
  }
  return { interesting, edges: [...edges.values()] };
}

/**
 * Every object reachable from `wants` that is not reachable from the `haves`
 * present in `gitdir` (absent haves are ignored). Trees and blobs of the
 * boundary commits count as present, so a commit on top of a baseline the
 * other side has costs only its own changed trees and blobs.
 */
export async function objectsToSend(
  gitdir: string,
  wants: readonly string[],
  haves: readonly string[],
  options: { store?: ObjectStore } = {},
): Promise<string[]> {
  const store = options.store ?? ObjectStore.open(gitdir);
  try {
    return await walk(new ObjectReader(store), wants, haves);
  } finally {
    if (options.store === undefined) await store.close();
  }
}

async function walk(
  reader: ObjectReader,
  wants: readonly string[],
  haves: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();

  const haveCommits: string[] = [];
  for (const oid of new Set(haves)) {
    // An object the other side has and we do not know cannot bound our walk.
    if (!(await reader.store.has(oid))) continue;
    const commit = await peelToCommit(reader, oid, []);
    if (commit !== null) haveCommits.push(commit);
  }
  const wantCommits: string[] = [];
  const tags: string[] = [];
  for (const oid of new Set(wants)) {
    const commit = await peelToCommit(reader, oid, tags);
    if (commit !== null) wantCommits.push(commit);
    else if (!seen.has(oid)) {
      // A tree or blob named directly.
      const obj = await reader.parsed(oid);
      if (obj.type === "tree") await addTree(reader, oid, seen, out);
      else {
        seen.add(oid);
        out.push(oid);
      }
    }
  }

  const { interesting, edges } = await walkCommits(reader, wantCommits, haveCommits);
  for (const edge of edges) {
    await markTreeUninteresting(reader, edge.tree, seen);
  }
  for (const tag of tags) {
    if (!seen.has(tag)) {
      seen.add(tag);
      out.push(tag);
    }
  }
  for (const c of interesting) {
    out.push(c.oid);
    await addTree(reader, c.tree, seen, out);
  }
  return out;
}
