/**
 * Fetching commits into the local repository whatever kind of clone it is:
 * complete, shallow (`git clone --depth`) or partial (`--filter=blob:none`).
 * Stores the packs, keeps `.git/shallow` in step with what arrived, and
 * checks that each fetched commit is complete down to the commit it must
 * reach — so a caller writes refs only to commits that are whole here.
 */
import { GitRemoteError } from "../errors/mod.ts";
import { missingSnapshotObjects } from "./commit_objects.ts";
import { parseCommit } from "./pack/object_parse.ts";
import { ObjectStore } from "./pack/object_store.ts";
import { storePack } from "./pack/store_pack.ts";
import type { ObjectFetcher } from "./promisor.ts";
import { readShallow, updateShallow } from "./shallow.ts";
import type { FetchSession } from "./transport/types.ts";

/** One commit to fetch. */
export interface FetchTip {
  readonly oid: string;
  /**
   * A commit below `oid` its history must reach (an experiment's
   * baseline): in a shallow clone that lacks it, the fetch deepens just
   * enough to bring it, instead of the whole history.
   */
  readonly base?: string;
}

export interface FetchCommitsOptions {
  readonly tips: readonly FetchTip[];
  /** Commits we have (local ref tips): the server leaves out what they reach. */
  readonly haves: readonly string[];
  /** A session on the remote whose advertisement named the tips (the caller closes it). */
  readonly session: FetchSession;
  /** Opens another session on the same remote, when a second request is needed. */
  readonly reopen: () => Promise<FetchSession>;
  /** The remote as users see it, for messages. */
  readonly displayUrl: string;
  /** The remote is this partial clone's promisor: mark its packs as git does. */
  readonly promisorPack?: boolean;
  /** A partial clone's way to fetch the objects it left out (see promisor.ts). */
  readonly fetchObjects?: ObjectFetcher;
  readonly onDebug?: (line: string) => void;
}

/** Experiment commit + baseline: the history a `deepen` first asks for. */
const FIRST_DEPTH = 2;
/** git's INFINITE_DEPTH: past this many rounds, ask for the whole history. */
const INFINITE_DEPTH = 0x7fffffff;
const MAX_DEPTH_BEFORE_ALL = 1024;

/**
 * Fetches `tips` (and their history) into `gitdir`; tips already here are
 * not asked for, only checked.
 *
 * In a shallow clone every request carries the clone's shallow commits, so
 * the server sends the parents we lack. A tip whose `base` is here comes
 * with the history between them; a tip whose `base` is not here comes with
 * `deepen 2` (tip + base), deepened further only if the tip has more than
 * one commit above its base. The server's shallow/unshallow answers update
 * `.git/shallow` (under its lock) after each pack is stored.
 *
 * In a partial clone the snapshot objects the commits need but the clone
 * left out are fetched by id through `fetchObjects`.
 *
 * Throws (GitRemoteError) when a tip or an object of its snapshot is still
 * missing at the end; nothing else is changed then but stored objects.
 */
export async function fetchCommits(
  gitdir: string,
  options: FetchCommitsOptions,
): Promise<{ objects: number }> {
  const debug = options.onDebug;
  const store = ObjectStore.open(gitdir);
  let objects = 0;
  try {
    let shallow = await readShallow(gitdir);
    let first: FetchSession | undefined = options.session;

    const request = async (tips: readonly FetchTip[], haves: readonly string[], depth?: number) => {
      const session = first ?? await options.reopen();
      first = undefined;
      let answer;
      try {
        answer = await session.fetch({
          wants: tips.map((t) => t.oid),
          haves,
          ...(shallow.size === 0 ? {} : { shallow: [...shallow] }),
          ...(depth === undefined ? {} : { depth }),
        });
      } finally {
        if (session !== options.session) await session.close();
      }
      if (answer.pack.length > 0) {
        const stored = await storePack(gitdir, answer.pack, {
          promisor: options.promisorPack ?? false,
        });
        objects += stored.objects;
        debug?.(`stored a pack of ${stored.objects} Git objects`);
      }
      // Without deepen, a shallow line names the server's own boundary: record it where it reached us.
      const add: string[] = [];
      for (const oid of answer.shallow) {
        if (depth !== undefined || await store.has(oid)) add.push(oid);
      }
      if (add.length > 0 || answer.unshallow.length > 0) {
        shallow = await updateShallow(gitdir, { add, remove: answer.unshallow });
        debug?.(
          `shallow boundary: +${add.length} -${answer.unshallow.length} (${shallow.size} commits)`,
        );
      }
    };

    const near: FetchTip[] = [];
    const far: FetchTip[] = [];
    for (const tip of options.tips) {
      // A tip already here is only checked (and completed, in a partial clone) below.
      if (await store.has(tip.oid)) continue;
      const needsDeepen = shallow.size > 0 && tip.base !== undefined &&
        !(await store.has(tip.base));
      (needsDeepen ? far : near).push(tip);
    }
    if (near.length > 0) await request(near, options.haves);
    if (far.length > 0) {
      let depth = FIRST_DEPTH;
      await request(far, options.haves, depth);
      // Several commits above the base: deepen until the base is reached.
      let short = await shortOfBase(store, far, shallow);
      while (short.length > 0 && depth !== INFINITE_DEPTH) {
        depth = depth >= MAX_DEPTH_BEFORE_ALL ? INFINITE_DEPTH : depth * 4;
        const haves = [...options.haves, ...short.map((t) => t.oid)];
        await request(short, haves, depth);
        short = await shortOfBase(store, short, shallow);
      }
    }

    const commits = await commitsToBase(store, options.tips, shallow);
    if (options.fetchObjects !== undefined) {
      const missing = await missingSnapshotObjects(store, commits);
      if (missing.length > 0) {
        debug?.(`fetching ${missing.length} objects this partial clone left out`);
        await options.fetchObjects(missing);
      }
    }
    const missing = await missingSnapshotObjects(store, commits);
    if (missing.length > 0) {
      throw new GitRemoteError(
        `Git object '${
          missing[0]
        }' of the fetched commits is missing here (the Git remote '${options.displayUrl}' did not send it, or an earlier fetch without the shallow protocol left it out); no ref was changed.`,
        { data: { missing } },
      );
    }
    return { objects };
  } finally {
    await store.close();
  }
}

async function parentsOf(store: ObjectStore, oid: string): Promise<string[] | undefined> {
  const obj = await store.tryRead(oid);
  if (obj === undefined || obj.type !== "commit") return undefined;
  return parseCommit(oid, obj.data).parents;
}

/**
 * The tips whose first-parent walk meets a shallow cut (or a missing
 * commit) before their base. A tip whose base is not an ancestor walks to
 * the root and is complete, as DVC's walk ends there too.
 */
async function shortOfBase(
  store: ObjectStore,
  tips: readonly FetchTip[],
  shallow: ReadonlySet<string>,
): Promise<FetchTip[]> {
  const short: FetchTip[] = [];
  for (const tip of tips) {
    let current: string | undefined = tip.oid;
    for (;;) {
      if (current === undefined || current === tip.base) break;
      const parents = await parentsOf(store, current);
      if (parents === undefined || (shallow.has(current) && parents.length > 0)) {
        short.push(tip);
        break;
      }
      current = parents[0];
    }
  }
  return short;
}

/**
 * Every commit from each tip down its first parents to (not including) its
 * base, stopping at shallow cuts — the commits an experiment consists of
 * (DVC's walk; to the root when the base is never met): their snapshots must
 * be here. Missing commits are included so the check reports them.
 */
async function commitsToBase(
  store: ObjectStore,
  tips: readonly FetchTip[],
  shallow: ReadonlySet<string>,
): Promise<string[]> {
  const out = new Set<string>();
  for (const tip of tips) {
    let current: string | undefined = tip.oid;
    while (current !== undefined && current !== tip.base && !out.has(current)) {
      out.add(current);
      if (shallow.has(current)) break;
      current = (await parentsOf(store, current))?.[0];
    }
  }
  return [...out];
}
