import { existsSync, readFileSync } from "node:fs";
import { newDigest } from "../util/digest.ts";
import { CorruptError } from "../errors/mod.ts";
import { objectKey } from "../core/object_key.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { compareCodePoints, type DirManifestEntry, parseDirManifest } from "./dir_manifest.ts";
import { assertCanonicalRelpath } from "./safe_path.ts";
import { BATCH, NotCanonical, scanFile } from "./dir_manifest_scan.ts";

/**
 * A `.dir` manifest read from its file one entry at a time, so a directory
 * of a million files never sits in memory as a million objects (nor as
 * 70 MB of JSON). {@link openDirManifest} reads it once to check it: its
 * md5 against its oid, every entry (32-hex md5, canonical safe relpath),
 * no duplicates, and that it is sorted by relpath as DVC writes it;
 * `entries()` then streams it again. A manifest DVC did not write
 * (other JSON spacing, unsorted) is parsed whole into memory instead, so
 * `entries()` is always in relpath (code point) order.
 */
export interface DirManifestFile {
  readonly oid: string;
  /** Number of files. */
  readonly count: number;
  /**
   * The first path listed both as a file and as a folder (`a` and `a/b`),
   * which no directory can hold; undefined when there is none.
   */
  readonly conflict: string | undefined;
  /** Every entry in relpath (code point) order, md5 in lower case. */
  entries(): Generator<DirManifestEntry>;
  /**
   * The same entries, a few thousand at a time as parallel arrays: no object
   * per entry and one generator step per batch, for loops over a million.
   */
  batches(): Generator<ManifestBatch>;
}

/** Consecutive manifest entries: `md5[i]` and `relpath[i]` are entry `start + i`. */
export interface ManifestBatch {
  readonly start: number;
  readonly md5: string[];
  readonly relpath: string[];
}

/** Every entry of `batches`, one object each (for the places where a million is not the point). */
function* entriesOf(batches: Generator<ManifestBatch>): Generator<DirManifestEntry> {
  for (const batch of batches) {
    for (let i = 0; i < batch.md5.length; i++) {
      yield { md5: batch.md5[i]!, relpath: batch.relpath[i]! };
    }
  }
}

/**
 * Checks and opens the manifest file at `path` for `.dir` object `oid`;
 * undefined when there is no such file. Throws CorruptError for a file
 * that does not hash to `oid` or is not a manifest, UnsafePathError for a
 * relpath that could leave the directory.
 */
export function openDirManifest(
  path: string,
  oid: string,
  scheme: HashScheme,
): DirManifestFile | undefined {
  let checked: { count: number; conflict: string | undefined };
  try {
    checked = checkFile(path, oid, scheme);
  } catch (error) {
    if (isMissing(error)) return undefined;
    if (!(error instanceof NotCanonical)) throw error;
    return inMemory(path, oid, scheme);
  }
  return {
    oid,
    count: checked.count,
    conflict: checked.conflict,
    entries: () => entriesOf(scanFile(path)),
    batches: () => scanFile(path),
  };
}

/** The in-memory form for manifests the streaming reader does not take. */
function inMemory(path: string, oid: string, scheme: HashScheme): DirManifestFile | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  assertHash(newDigest("md5").update(bytes).hex(), oid, scheme);
  const list = parseDirManifest(bytes).sort((a, b) => compareCodePoints(a.relpath, b.relpath));
  const conflicts = new ConflictFinder();
  let conflict: string | undefined;
  for (const entry of list) conflict ??= conflicts.next(entry.relpath);
  return {
    oid,
    count: list.length,
    conflict,
    *entries() {
      yield* list;
    },
    *batches() {
      for (let start = 0; start < list.length; start += BATCH) {
        const part = list.slice(start, start + BATCH);
        yield { start, md5: part.map((e) => e.md5), relpath: part.map((e) => e.relpath) };
      }
    },
  };
}

function assertHash(actual: string, oid: string, scheme: HashScheme): void {
  if (`${actual}.dir` === oid) return;
  throw new CorruptError(
    `The '.dir' object '${oid}' does not hash to its name; delete '${
      objectKey(oid, scheme)
    }' and fetch it again.`,
  );
}

/**
 * Relpaths that are safe at a glance: segments of common characters, none
 * starting with `.` (so none is `.` or `..`), no drive letter. Others get
 * the full check.
 */
const PLAIN_RELPATH = /^[\w\-+=@,~ ][\w\-+=@,~ .]*(?:\/[\w\-+=@,~ ][\w\-+=@,~ .]*)*$/;

/** The checking pass: hash, entries, order, duplicates, file/folder conflicts. */
function checkFile(
  path: string,
  oid: string,
  scheme: HashScheme,
): { count: number; conflict: string | undefined } {
  const checker = new Checker();
  for (const batch of scanFile(path, (bytes) => checker.bytes(bytes))) checker.batch(batch);
  checker.finish(oid, scheme);
  return { count: checker.count, conflict: checker.conflict };
}

/** What the checking pass verifies, fed a batch (and the raw bytes) at a time. */
class Checker {
  count = 0;
  conflict: string | undefined;
  readonly #hash = newDigest("md5");
  readonly #conflicts = new ConflictFinder();
  #previous: string | undefined;
  #previousPlain = false;

  bytes(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /** Checks the entries of a batch; NotCanonical when they are not in DVC's order. */
  batch(batch: ManifestBatch): void {
    for (const relpath of batch.relpath) {
      // Plain (ASCII) paths compare natively: UTF-16 order is code point order there.
      const plain = PLAIN_RELPATH.test(relpath);
      if (!plain) assertCanonicalRelpath(relpath, "'.dir' manifest entry");
      const previous = this.#previous;
      if (previous !== undefined) {
        const order = plain && this.#previousPlain
          ? (previous < relpath ? -1 : previous === relpath ? 0 : 1)
          : compareCodePoints(previous, relpath);
        if (order === 0) {
          throw new CorruptError(
            `A '.dir' manifest lists '${relpath}' twice; delete the object and fetch it again.`,
          );
        }
        if (order > 0) throw new NotCanonical();
      }
      this.conflict ??= this.#conflicts.next(relpath);
      this.#previous = relpath;
      this.#previousPlain = plain;
      this.count++;
    }
  }

  /** After the last byte: the file must hash to its oid. */
  finish(oid: string, scheme: HashScheme): void {
    assertHash(this.#hash.hex(), oid, scheme);
  }
}

/**
 * The manifest at `path`, checked while it is read instead of before: every
 * batch is checked before it is handed out (relpaths, order, duplicates;
 * `conflict` is set before the batch holding it), and the hash once the
 * last one was taken — reading to the end throws if it is wrong. For a
 * reader whose work is thrown away on any error (a folder built aside):
 * one pass instead of two. A manifest not in DVC's exact layout throws
 * {@link ManifestNotStreamable}: read it with {@link openDirManifest}.
 * Undefined when there is no such file.
 */
export function streamDirManifest(
  path: string,
  oid: string,
  scheme: HashScheme,
): (DirManifestFile & { conflict: string | undefined }) | undefined {
  if (!existsSync(path)) return undefined;
  let checker: Checker | undefined;
  // After one whole pass that checked out, later passes only read (as openDirManifest's do).
  let checked: Checker | undefined;
  const manifest = {
    oid,
    get count() {
      return (checked ?? checker)?.count ?? 0;
    },
    get conflict() {
      return (checked ?? checker)?.conflict;
    },
    *batches(): Generator<ManifestBatch> {
      const check = checked === undefined ? (checker = new Checker()) : undefined;
      try {
        for (const batch of scanFile(path, check && ((bytes) => check.bytes(bytes)))) {
          check?.batch(batch);
          yield batch;
        }
      } catch (error) {
        if (error instanceof NotCanonical) throw new ManifestNotStreamable();
        throw error;
      }
      if (check !== undefined) {
        check.finish(oid, scheme);
        checked = check;
      }
    },
    entries: () => entriesOf(manifest.batches()),
  };
  return manifest;
}

/** A manifest {@link streamDirManifest} cannot stream: not in DVC's exact layout, or unsorted. */
export class ManifestNotStreamable extends Error {}

/**
 * Finds a path listed both as a file and as a folder in a sorted list: any
 * `p/…` follows `p`, with only paths `p<c>…` (c < '/') between them, so
 * only files that are prefixes of the current path can still conflict.
 */
class ConflictFinder {
  readonly #open: string[] = [];

  /** Feeds the next path; returns it when an earlier file is one of its folders. */
  next(path: string): string | undefined {
    let found: string | undefined;
    let kept = 0;
    for (const file of this.#open) {
      if (!path.startsWith(file) || path.length === file.length) continue;
      const c = path.charCodeAt(file.length);
      if (c === 0x2f) found ??= path;
      if (c < 0x2f) this.#open[kept++] = file;
    }
    this.#open.length = kept;
    this.#open.push(path);
    return found;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
