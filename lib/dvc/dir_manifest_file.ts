import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { CorruptError } from "../errors/mod.ts";
import { objectKey } from "../core/object_key.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { compareCodePoints, type DirManifestEntry, parseDirManifest } from "./dir_manifest.ts";
import { assertCanonicalRelpath } from "./safe_path.ts";

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
}

/** Bytes read at a time. */
const CHUNK = 1024 * 1024;

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
    entries: () => scanFile(path),
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
  assertHash(createHash("md5").update(bytes).digest("hex"), oid, scheme);
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
  const hash = createHash("md5");
  let previous: string | undefined;
  let count = 0;
  const conflicts = new ConflictFinder();
  let conflict: string | undefined;
  let previousPlain = false;
  for (const entry of scanFile(path, (bytes) => hash.update(bytes))) {
    const relpath = entry.relpath;
    // Plain (ASCII) paths compare natively: UTF-16 order is code point order there.
    const plain = PLAIN_RELPATH.test(relpath);
    if (!plain) assertCanonicalRelpath(relpath, "'.dir' manifest entry");
    if (previous !== undefined) {
      const order = plain && previousPlain
        ? (previous < relpath ? -1 : previous === relpath ? 0 : 1)
        : compareCodePoints(previous, relpath);
      if (order === 0) {
        throw new CorruptError(
          `A '.dir' manifest lists '${relpath}' twice; delete the object and fetch it again.`,
        );
      }
      if (order > 0) throw new NotCanonical();
    }
    conflict ??= conflicts.next(relpath);
    previous = relpath;
    previousPlain = plain;
    count++;
  }
  assertHash(hash.digest("hex"), oid, scheme);
  return { count, conflict };
}

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

/** The file is not in DVC's exact layout: read it whole instead. */
class NotCanonical extends Error {}

const ascii = new TextDecoder("latin1");
const NON_ASCII = /[\u0080-\uffff]/;
/** One entry exactly as DVC writes it, then `, ` or the closing `]`. */
const ENTRY = /\{"md5": "([0-9a-f]{32})", "relpath": "((?:[^"\\]|\\.)*)"\}(, |\])/y;

/**
 * Streams the entries of a manifest file in DVC's exact layout (`json.dumps`
 * with `sort_keys`, ASCII only); anything else throws NotCanonical.
 * `onBytes` sees every byte once.
 */
function* scanFile(
  path: string,
  onBytes?: (bytes: Uint8Array) => void,
): Generator<DirManifestEntry> {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    let text = "";
    let pos = 0;
    let eof = false;
    let started = false;
    let closed = false;
    const more = () => {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) {
        eof = true;
        return;
      }
      const bytes = buf.subarray(0, n);
      onBytes?.(bytes);
      const chunk = ascii.decode(bytes);
      // DVC escapes every non-ASCII character: a raw one means another writer.
      if (NON_ASCII.test(chunk)) throw new NotCanonical();
      text = text.slice(pos) + chunk;
      pos = 0;
    };
    while (!closed) {
      if (!started) {
        if (text.length - pos < 2 && !eof) {
          more();
          continue;
        }
        if (text.startsWith("[]", pos)) {
          pos += 2;
          closed = true;
          break;
        }
        if (text[pos] !== "[") throw new NotCanonical();
        pos++;
        started = true;
      }
      ENTRY.lastIndex = pos;
      const m = ENTRY.exec(text);
      if (m === null) {
        // Either the chunk ends inside this entry, or it is not DVC's layout.
        if (eof) throw new NotCanonical();
        const before = text.length - pos;
        more();
        if (eof && before === text.length - pos) throw new NotCanonical();
        continue;
      }
      pos = ENTRY.lastIndex;
      const raw = m[2]!;
      const relpath = raw.indexOf("\\") < 0 ? raw : unescapeJson(raw);
      if (m[3] === "]") closed = true;
      yield { md5: m[1]!, relpath };
    }
    // Nothing may follow the array.
    for (;;) {
      if (pos < text.length) throw new NotCanonical();
      if (eof) break;
      more();
    }
  } finally {
    closeSync(fd);
  }
}

function unescapeJson(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    throw new NotCanonical();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
