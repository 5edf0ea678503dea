import { throwIfAborted } from "../store/abort.ts";
import type { Store } from "../store/types.ts";
import { forEachLimit } from "./parallel.ts";

/** Options of {@link missingOn}. */
export interface MissingOptions {
  readonly signal?: AbortSignal;
  /** Parallel existence queries or listings (default 16). */
  readonly jobs?: number;
  /**
   * Keys known to exist on this store. Objects are immutable, so a positive
   * answer holds for the whole command: pass the same set to every call
   * about the same store; it is filled with what this call learns.
   */
  readonly memo?: Set<string>;
  /**
   * DVC's `.dir` shortcut (spec §4.4.1): `.dir` key → its members' keys.
   * The `.dir` keys are checked first; when one exists its members are
   * assumed present and not checked.
   */
  readonly dirMembers?: ReadonlyMap<string, readonly string[]>;
  /** Told how many keys have an answer so far. */
  readonly onProgress?: (answered: number, total: number) => void;
}

/** Below this many keys, one query per key always wins. */
const FEW_KEYS = 32;
/** Keys per listing page on object stores (S3 returns up to 1000). */
const PAGE = 1000;

/**
 * Which of `keys` the store lacks. Few keys, or a store that cannot list
 * cheaply, get one `exists` per key; otherwise the 2-hex-digit folders
 * involved are listed in parallel when that costs fewer requests, estimated
 * from the size of the first folder listed (DVC's own trade-off, §4.4.2).
 *
 * @example
 * const memo = new Set<string>();
 * const missing = await missingOn(remote, keys, { memo, dirMembers });
 */
export async function missingOn(
  store: Store,
  keys: Iterable<string>,
  options: MissingOptions = {},
): Promise<Set<string>> {
  const memo = options.memo ?? new Set<string>();
  const jobs = Math.max(1, options.jobs ?? 16);
  const { signal } = options;
  const all = new Set(keys);
  const unknown = new Set([...all].filter((key) => !memo.has(key)));
  let answered = all.size - unknown.size;
  const tell = (count: number) => {
    answered += count;
    options.onProgress?.(answered, all.size);
  };
  const present = (key: string) => {
    memo.add(key);
  };

  const askEach = (batch: readonly string[]) =>
    forEachLimit(batch, jobs, signal, async (key) => {
      if (await store.exists(key, signal)) present(key);
      tell(1);
    });

  if (options.dirMembers) {
    const dirs = [...all].filter((key) => options.dirMembers!.has(key));
    await askEach(dirs.filter((dir) => unknown.delete(dir)));
    for (const dir of dirs) {
      if (!memo.has(dir)) continue;
      for (const member of options.dirMembers.get(dir) ?? []) {
        if (unknown.delete(member)) tell(1);
        present(member);
      }
    }
  }

  const rest = [...unknown];
  if (!store.canList || rest.length <= FEW_KEYS) {
    await askEach(rest);
  } else {
    await listOrAsk(store, rest, jobs, signal, present, tell, askEach);
  }
  throwIfAborted(signal);
  return new Set([...all].filter((key) => !memo.has(key)));
}

async function listOrAsk(
  store: Store,
  keys: readonly string[],
  jobs: number,
  signal: AbortSignal | undefined,
  present: (key: string) => void,
  tell: (count: number) => void,
  askEach: (keys: readonly string[]) => Promise<void>,
): Promise<void> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const prefix = key.slice(0, key.lastIndexOf("/") + 1);
    const group = groups.get(prefix);
    if (group) group.push(key);
    else groups.set(prefix, [key]);
  }
  const ordered = [...groups].sort((a, b) => b[1].length - a[1].length);
  const listGroup = async ([prefix, wanted]: [string, string[]]) => {
    const wantedSet = new Set(wanted);
    let seen = 0;
    for await (const key of store.list(prefix, signal)) {
      seen++;
      if (wantedSet.has(key)) present(key);
    }
    tell(wanted.length);
    return seen;
  };
  // The fullest folder is listed first; its size estimates what listing the others costs.
  const sample = await listGroup(ordered[0]!);
  const others = ordered.slice(1);
  const pagesPerFolder = Math.max(1, Math.ceil(sample / PAGE));
  const listCost = others.length * pagesPerFolder;
  const askCost = others.reduce((sum, [, wanted]) => sum + wanted.length, 0);
  if (listCost < askCost) {
    await forEachLimit(others, jobs, signal, async (group) => void await listGroup(group));
  } else {
    await askEach(others.flatMap(([, wanted]) => wanted));
  }
}
