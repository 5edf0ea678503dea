import type { TransferItem } from "./types.ts";

/** One unique transfer (by direction and key) and the bookkeeping the queue needs. */
export interface Entry {
  /** The first item given for this key. */
  readonly item: TransferItem;
  /** That item and its duplicates (other groups asking for the same object). */
  readonly items: TransferItem[];
  /** Entries that wait for this one. */
  readonly dependents: Entry[];
  /** Dependencies not yet done. */
  waitingOn: number;
  settled: boolean;
  /** Input position, to keep equal sizes in input order. */
  readonly order: number;
}

/** Ready entries kept sorted by size; `pop()` gives the largest, `shift()` the smallest. */
export class ReadyQueue {
  readonly #sorted: Entry[] = [];

  get length(): number {
    return this.#sorted.length;
  }

  push(entry: Entry): void {
    // Binary search: entries that become ready late (.dir manifests) are rare and small.
    let low = 0;
    let high = this.#sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (before(this.#sorted[mid]!, entry)) low = mid + 1;
      else high = mid;
    }
    this.#sorted.splice(low, 0, entry);
  }

  pop(): Entry | undefined {
    return this.#sorted.pop();
  }

  shift(): Entry | undefined {
    return this.#sorted.shift();
  }

  /** Bulk load then one sort: O(n log n) for the initial items. */
  load(entries: Entry[]): void {
    this.#sorted.push(...entries);
    this.#sorted.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }
}

/** Ascending by size; among equal sizes the earlier input ends up last, so it pops first. */
function before(a: Entry, b: Entry): boolean {
  return a.item.size < b.item.size || (a.item.size === b.item.size && a.order > b.order);
}

/** Deduplicates items and links each to the entries it must wait for. */
export function buildPlan(items: readonly TransferItem[]): { entries: Entry[]; ready: ReadyQueue } {
  const byId = new Map<string, Entry>();
  const entries: Entry[] = [];
  for (const item of items) {
    const id = `${item.direction}\0${item.key}`;
    const known = byId.get(id);
    if (known) {
      known.items.push(item);
      continue;
    }
    const entry: Entry = {
      item,
      items: [item],
      dependents: [],
      waitingOn: 0,
      settled: false,
      order: entries.length,
    };
    byId.set(id, entry);
    entries.push(entry);
  }
  for (const entry of entries) {
    // Duplicates may carry different `after` lists: the union must succeed first.
    const needs = new Set(entry.items.flatMap((item) => item.after ?? []));
    for (const key of needs) {
      const dependency = byId.get(`${entry.item.direction}\0${key}`);
      if (!dependency || dependency === entry) continue;
      dependency.dependents.push(entry);
      entry.waitingOn++;
    }
  }
  const ready = new ReadyQueue();
  ready.load(entries.filter((entry) => entry.waitingOn === 0));
  return { entries, ready };
}
