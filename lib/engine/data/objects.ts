import { objectKey, parseObjectKey } from "../../core/object_key.ts";
import type { DirManifestFile } from "../../dvc/dir_manifest_file.ts";
import type { DvcObject } from "../../dvc/mod.ts";
import { DigestSet } from "../../transfer/digest_set.ts";
import type { HashScheme } from "../../util/object_hasher.ts";

/** What is known about one file object of a plan (bits of a {@link DigestSet} flag byte). */
export const Flag = {
  /** Already where it should go (the remote for an upload, the cache for a download). */
  present: 1,
  /** Not available where it comes from (the cache for an upload, the remote for a download). */
  absent: 2,
  /** Its transfer failed, or was not started because the queue stopped. */
  failed: 4,
  /** Moved by this command. */
  done: 8,
} as const;

/** A `.dir` object a plan moves whole, with its manifest (undefined when unreadable). */
export interface PlannedDir {
  readonly object: DvcObject;
  readonly manifest: DirManifestFile | undefined;
  /** The manifest file fetched into the staging folder (downloads), when the cache lacks it. */
  readonly staged?: string;
}

/** How a `.dir` object ended: every member (and itself) there, some member missing, some failed. */
export type DirOutcome = "ok" | "absent" | "failed";

/**
 * The objects going to (or coming from) one remote, kept compact: file
 * objects as 16-byte digests per hash scheme with a flag byte each (a
 * million files cost tens of MB), `.dir` objects by key with their
 * manifests on disk. Sizes are kept only where a stage file recorded them.
 */
export class RemoteObjects {
  readonly #sets = new Map<HashScheme, DigestSet>();
  /** Sizes of single-file outputs by key (directory members are stat-ed when moved). */
  readonly sizes = new Map<string, number>();
  readonly dirs = new Map<string, PlannedDir>();
  /** Keys of the `.dir` objects moved whole (the others are only read for a part). */
  readonly whole = new Set<string>();
  /** How `.dir` objects that were moved (or could not be) ended. */
  readonly dirOutcomes = new Map<string, DirOutcome>();
  readonly #derived = new Map<string, DirOutcome>();

  /** Adds a file object (and its size, when a stage file recorded it). */
  addFile(oid: string, scheme: HashScheme, size?: number): void {
    this.setOf(scheme).add(oid);
    if (size !== undefined) this.sizes.set(objectKey(oid, scheme), size);
  }

  setOf(scheme: HashScheme): DigestSet {
    let set = this.#sets.get(scheme);
    if (set === undefined) {
      set = new DigestSet();
      this.#sets.set(scheme, set);
    }
    return set;
  }

  /** The sets that exist, by scheme. */
  sets(): [HashScheme, DigestSet][] {
    return [...this.#sets];
  }

  /** Number of file objects. */
  get fileCount(): number {
    let n = 0;
    for (const set of this.#sets.values()) n += set.size;
    return n;
  }

  /** Number of file objects with every bit of `flag`. */
  countFiles(flag: number): number {
    let n = 0;
    for (const set of this.#sets.values()) n += set.count(flag);
    return n;
  }

  /** Flags of the file object at `key` (0 when it is not in the plan). */
  flagsOf(key: string): number {
    const parsed = parseObjectKey(key);
    if (parsed === undefined) return 0;
    const set = this.#sets.get(parsed.scheme);
    const slot = set?.indexOf(parsed.oid) ?? -1;
    return slot < 0 ? 0 : set!.flags(slot);
  }

  /**
   * How a `.dir` object ended: its own outcome when it was moved (or could
   * not be), else the worst of its members (missing wins over failed). A
   * plan where no file went wrong needs no manifest read.
   */
  dirOutcome(key: string): DirOutcome {
    const known = this.dirOutcomes.get(key) ?? this.#derived.get(key);
    if (known !== undefined) return known;
    const dir = this.dirs.get(key);
    if (dir === undefined || dir.manifest === undefined) return "absent";
    const outcome = this.membersOutcome(dir);
    this.#derived.set(key, outcome);
    return outcome;
  }

  /** The worst outcome among a directory's members (streams its manifest only when needed). */
  membersOutcome(dir: PlannedDir): DirOutcome {
    if (dir.manifest === undefined) return "absent";
    const set = this.#sets.get(dir.object.scheme);
    if (set === undefined || !this.#anyBad()) return "ok";
    let outcome: DirOutcome = "ok";
    for (const batch of dir.manifest.batches()) {
      for (const md5 of batch.md5) {
        const slot = set.indexOf(md5);
        const flags = slot < 0 ? Flag.absent : set.flags(slot);
        if (flags & Flag.absent) return "absent";
        if (flags & Flag.failed) outcome = "failed";
      }
    }
    return outcome;
  }

  /** Objects flagged absent, as DvcObjects (for DVC's "missing cache files" warning). */
  absentObjects(): DvcObject[] {
    const out: DvcObject[] = [];
    for (const [scheme, set] of this.#sets) {
      for (const slot of set.slots()) {
        if ((set.flags(slot) & Flag.absent) === 0) continue;
        const oid = set.hex(slot);
        out.push({ oid, scheme, key: objectKey(oid, scheme), isDir: false });
      }
    }
    return out;
  }

  #badKnown: boolean | undefined;
  #anyBad(): boolean {
    this.#badKnown ??= this.countFiles(Flag.absent) + this.countFiles(Flag.failed) > 0;
    return this.#badKnown;
  }

  /** Call after flags changed (outcomes are computed from them lazily). */
  invalidate(): void {
    this.#badKnown = undefined;
    this.#derived.clear();
  }
}
