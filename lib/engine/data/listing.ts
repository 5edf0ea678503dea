import { parseObjectKey } from "../../core/object_key.ts";
import type { Store } from "../../store/types.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import { Flag, type PhaseProgress } from "./moves.ts";
import type { RemoteObjects } from "./objects.ts";
import type { DataRuntime } from "./runtime.ts";

/** Below this many keys, one query per key always wins. */
const FEW_KEYS = 32;
/** Keys per listing page on object stores (S3 returns up to 1000). */
const PAGE = 1000;
/** Listings in flight at once. */
const LISTINGS = 16;

/**
 * Lists the remote's 2-hex-digit folders holding objects of the plan not yet
 * known to be there, when that costs fewer requests than one query per
 * object (estimated from the size of the fullest folder, listed first: DVC's
 * own trade-off, spec §4.4.2), and flags the objects found present. Returns
 * the folders listed: an object in one of them that was not flagged is
 * missing there, without asking.
 */
export async function markListed(
  store: Store,
  objects: RemoteObjects,
  rt: DataRuntime,
  progress: PhaseProgress,
): Promise<Set<string>> {
  const wanted = new Map<string, number>();
  for (const [scheme, set] of objects.sets()) {
    const root = scheme === "md5" ? "files/md5/" : "";
    for (const slot of set.slots()) {
      if ((set.flags(slot) & Flag.present) !== 0) continue;
      const folder = `${root}${set.hex(slot).slice(0, 2)}/`;
      wanted.set(folder, (wanted.get(folder) ?? 0) + 1);
    }
  }
  const listed = new Set<string>();
  const total = [...wanted.values()].reduce((a, b) => a + b, 0);
  if (total <= FEW_KEYS) return listed;
  progress.totalObjects += total;
  const signal = rt.signal;
  const list = async (folder: string) => {
    let seen = 0;
    for await (const key of store.list(folder, signal)) {
      seen++;
      const parsed = parseObjectKey(key);
      if (parsed === undefined) continue;
      const set = objects.setOf(parsed.scheme);
      const slot = set.indexOf(parsed.oid);
      if (slot >= 0) set.setFlag(slot, Flag.present);
    }
    listed.add(folder);
    progress.doneObjects += wanted.get(folder) ?? 0;
    progress.emit();
    return seen;
  };
  const ordered = [...wanted].sort((a, b) => b[1] - a[1]);
  const sample = await list(ordered[0]![0]);
  const others = ordered.slice(1);
  const pagesPerFolder = Math.max(1, Math.ceil(sample / PAGE));
  const listCost = others.length * pagesPerFolder;
  const askCost = others.reduce((sum, [, n]) => sum + n, 0);
  if (listCost < askCost) {
    await forEachLimit(others, LISTINGS, signal, async ([folder]) => void await list(folder));
  }
  return listed;
}
