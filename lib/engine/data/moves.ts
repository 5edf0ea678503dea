import { parseObjectKey } from "../../core/object_key.ts";
import type { SmallObjects } from "../../store/types.ts";
import type { DigestSet } from "../../transfer/digest_set.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { Flag, type RemoteObjects } from "./objects.ts";
import type { DataProgress } from "./progress.ts";
import type { DataRuntime } from "./runtime.ts";

/** One file object of a plan about to move. */
export interface FileMove {
  readonly set: DigestSet;
  readonly slot: number;
  readonly oid: string;
  readonly scheme: HashScheme;
  readonly key: string;
  /** Bytes, when a stage file recorded them. */
  readonly size: number | undefined;
}

/** Set on a file once handed out by {@link fileMoves}, so it is handed out once. */
const QUEUED = 16;

/**
 * The file objects of a plan not yet flagged with any bit of `skip`, one at
 * a time: those whose size a stage file recorded first, largest first (a
 * big file started last would finish alone), then every other in table
 * order. Nothing is listed up front beyond the sized ones.
 */
export function* fileMoves(objects: RemoteObjects, skip: number): Generator<FileMove> {
  const sized = [...objects.sizes].sort((a, b) => b[1] - a[1]);
  for (const [key, size] of sized) {
    const parsed = parseObjectKey(key);
    if (parsed === undefined) continue;
    const set = objects.setOf(parsed.scheme);
    const slot = set.indexOf(parsed.oid);
    if (slot < 0 || (set.flags(slot) & (skip | QUEUED)) !== 0) continue;
    set.setFlag(slot, QUEUED);
    yield { set, slot, oid: parsed.oid, scheme: parsed.scheme, key, size };
  }
  for (const [scheme, set] of objects.sets()) {
    for (const slot of set.slots()) {
      if ((set.flags(slot) & (skip | QUEUED)) !== 0) continue;
      set.setFlag(slot, QUEUED);
      const oid = set.hex(slot);
      // 32 hex digits from a digest: the key needs no checking.
      const key = scheme === "md5"
        ? `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`
        : `${oid.slice(0, 2)}/${oid.slice(2)}`;
      yield { set, slot, oid, scheme, key, size: undefined };
    }
  }
}

/** Clears the hand-out marks, so a later pass can walk the same files again. */
export function resetMoves(objects: RemoteObjects): void {
  for (const [, set] of objects.sets()) for (const slot of set.slots()) set.clearFlag(slot, QUEUED);
}

/** A failed transfer, kept for the warning lines (only the first few are kept). */
export interface Failure {
  readonly key: string;
  readonly error: Error;
}

/** Failures of one remote: the first few with their errors, and how many in all. */
export class Failures {
  readonly sample: Failure[] = [];
  total = 0;

  add(key: string, error: Error): void {
    this.total++;
    if (this.sample.length < KEPT_FAILURES) this.sample.push({ key, error });
  }
}

const KEPT_FAILURES = 100;

/** Counts for the progress display of one phase, sent at most every few ms. */
export class PhaseProgress {
  doneObjects = 0;
  totalObjects = 0;
  doneBytes = 0;
  totalBytes = 0;
  #last = 0;

  constructor(
    private readonly rt: DataRuntime,
    private readonly phase: DataProgress["phase"],
  ) {}

  /** Sends the counts; `force` for the first and last events of a phase. */
  emit(force = false): void {
    if (this.rt.onProgress === undefined) return;
    const now = performance.now();
    if (!force && now - this.#last < 50) return;
    this.#last = now;
    this.rt.onProgress({
      phase: this.phase,
      doneObjects: this.doneObjects,
      totalObjects: this.totalObjects,
      doneBytes: this.doneBytes,
      totalBytes: this.totalBytes,
    });
  }
}

/** `.dir` manifests hash raw (they never hold CRLF); files in their output's scheme. */
export function expectOf(
  oid: string,
  scheme: HashScheme,
): { hash: string; scheme: HashScheme } {
  return oid.endsWith(".dir") ? { hash: oid.slice(0, 32), scheme: "md5" } : { hash: oid, scheme };
}

export { Flag };

/**
 * Publishes what a store's synchronous writes left in hidden folders; the
 * error, if any, stops the transfer (the objects are not visible, so nothing
 * may rely on them).
 */
export function publishSmallWrites(small: SmallObjects | undefined): Error | undefined {
  try {
    small?.publish();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
