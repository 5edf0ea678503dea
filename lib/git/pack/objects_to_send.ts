/**
 * Which objects a pack must carry so the other side, which has `haves`, can
 * use `wants` — git's `rev-list --objects --objects-edge <wants> --not <haves>`.
 * Commits listed in the repository's `.git/shallow` (and any extra shallow
 * commits given, e.g. a shallow client's) count as having no parents.
 */
import { CorruptError, DxpError, ExitCode } from "../../errors/mod.ts";
import { readShallow } from "../shallow.ts";
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
  constructor(readonly store: ObjectStore, readonly grafts: ReadonlySet<string> = new Set()) {}

  async parsed(oid: string) {
    return await this.store.read(oid);
  }

  async commit(oid: string): Promise<WalkCommit> {
    const obj = await this.store.read(oid);
    if (obj.type !== "commit") {
      throw new CorruptError(`Git object '${oid}' is a ${obj.type}, not a commit.`);
    }
    const parsed = parseCommit(oid, obj.data);
    // A shallow commit's parents are not here (or not on the other side): history ends at it.
    return { oid, ...parsed, parents: this.grafts.has(oid) ? [] : parsed.parents };
  }

  /** The parents the commit really names, whatever the shallow boundary. */
  async realParents(oid: string): Promise<string[]> {
    return parseCommit(oid, (await this.store.read(oid)).data).parents;
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

/** What {@link planObjects} found. */
export interface ObjectPlan {
  /** The objects to send, commits before their trees and blobs. */
  readonly oids: string[];
  /**
   * Commits of this repository's own shallow boundary that must be sent
   * while the other side is not known to have their parents: the receiver
   * would get them without their history.
   */
  readonly shallowEdges: string[];
}

export interface PlanOptions {
  /** Reuse an open store (and its cache). */
  readonly store?: ObjectStore;
  /** More commits to treat as parentless (a shallow client's boundary, new `deepen` cuts). */
  readonly extraShallow?: Iterable<string>;
}

/**
 * Every object reachable from `wants` that is not reachable from the `haves`
 * present in `gitdir` (absent haves are ignored). Trees and blobs of the
 * boundary commits count as present, so a commit on top of a baseline the
 * other side has costs only its own changed trees and blobs. Walks stop at
 * the repository's shallow commits and at `extraShallow`.
 */
export async function planObjects(
  gitdir: string,
  wants: readonly string[],
  haves: readonly string[],
  options: PlanOptions = {},
): Promise<ObjectPlan> {
  const own = await readShallow(gitdir);
  const grafts = new Set([...own, ...(options.extraShallow ?? [])]);
  const store = options.store ?? ObjectStore.open(gitdir);
  try {
    const reader = new ObjectReader(store, grafts);
    const { oids, commits } = await walk(reader, wants, haves);
    const known = new Set(haves);
    const shallowEdges: string[] = [];
    for (const oid of commits) {
      if (!own.has(oid)) continue;
      const parents = await reader.realParents(oid);
      if (parents.some((p) => !known.has(p))) shallowEdges.push(oid);
    }
    return { oids, shallowEdges };
  } finally {
    if (options.store === undefined) await store.close();
  }
}

/**
 * Fails (as {@link objectsToSend} would) when `wants` cannot be sent to a
 * side that has `haves` because this shallow clone lacks their history —
 * cheap to call early, before anything else changes; a complete repository
 * returns at once.
 */
export async function checkSendable(
  gitdir: string,
  wants: readonly string[],
  haves: readonly string[],
): Promise<void> {
  if ((await readShallow(gitdir)).size === 0 || wants.length === 0) return;
  await objectsToSend(gitdir, wants, haves);
}

/**
 * The objects a push must send (see {@link planObjects}). From a shallow
 * clone, a commit at the clone's edge that the remote lacks cannot be sent
 * (its parents are not here): that is an error naming the commit, before
 * anything is sent.
 */
export async function objectsToSend(
  gitdir: string,
  wants: readonly string[],
  haves: readonly string[],
  options: { store?: ObjectStore } = {},
): Promise<string[]> {
  const plan = await planObjects(gitdir, wants, haves, options);
  const edge = plan.shallowEdges[0];
  if (edge !== undefined) {
    throw new DxpError(
      "ShallowHistory",
      `Cannot push commit '${
        edge.slice(0, 7)
      }' without its history: this is a shallow clone and the Git remote does not have that commit's parents; make the clone complete with 'git fetch --unshallow', then push again.`,
      ExitCode.failure,
      { data: { commit: edge } },
    );
  }
  return plan.oids;
}

async function walk(
  reader: ObjectReader,
  wants: readonly string[],
  haves: readonly string[],
): Promise<{ oids: string[]; commits: string[] }> {
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
  // Across a shallow boundary the haves may not be edges of what is sent:
  // their trees count as present too (git's --objects-edge-aggressive).
  if (reader.grafts.size > 0) {
    for (const oid of haveCommits) {
      await markTreeUninteresting(reader, (await reader.commit(oid)).tree, seen);
    }
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
  return { oids: out, commits: interesting.map((c) => c.oid) };
}
