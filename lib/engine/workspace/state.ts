import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HashScheme } from "../../util/object_hasher.ts";
import { tempPathFor } from "../../cache/link.ts";
import { StoreError } from "../../errors/mod.ts";
import { errnoCode } from "../../store/errors.ts";
import { ENTRY_BYTES, StampTable } from "./stamp_table.ts";

/** The part of a file's (bigint) stat that tells whether it changed. */
export interface Stamp {
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly size: bigint;
}

/** Keeps only the stamp of a stat result (a whole BigIntStats is ~20 bigints). */
export function stampOf(stats: Stamp): Stamp {
  return { ino: stats.ino, mtimeNs: stats.mtimeNs, size: stats.size };
}

/** An output the checkout materialised (for removing it once no stage declares it). */
export interface OutRecord {
  readonly oid: string;
  readonly isDir: boolean;
}

const FILE_NAME = "checkout-state.json";
/**
 * Columns of typed arrays in this host's byte order: a state file is never
 * moved to another machine, and one read where the order differs (named in
 * the header) is simply not used.
 */
const HEADER = `dxp-workspace-state 4 ${
  new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "le" : "be"
}`;
/** Fixed 49-byte little-endian records (dxp before columns). */
const RECORDS_HEADER = "dxp-workspace-state 3";
const TEXT_HEADER = "dxp-workspace-state 2";
const VALUE = /^\d+ \d+ \d+ [0-9a-f]{32}(?:\.dir)? md5(?:-dos2unix)?$/;
/** Beyond this many entries, those this run never used are dropped when saving. */
const PRUNE_ABOVE = 4_000_000;

/**
 * What dxp knows about the workspace, kept in
 * `.dvc/tmp/dxp/checkout-state.json` (never committed, like DVC's state DB):
 * for each file it wrote or hashed, the (inode, mtime, size) stamp and the
 * oid, so an untouched file is recognised without re-hashing (checkout and
 * `exp save` share it); and the outputs the checkout materialised, so
 * outputs a later revision drops can be removed when they are still exactly
 * what was written (DVC's "unused links").
 *
 * Compact for million-file outputs: stamps live in a {@link StampTable}
 * (typed arrays keyed by a hash of the path, ~60 bytes per file) and are
 * saved as those arrays' bytes (49 a file) after a text header, the outputs
 * line and the count. Files written by older dxp versions (49-byte records,
 * text lines, JSON) are read too.
 * Mtimes compare to the microsecond.
 */
export class WorkspaceState {
  /** Stamps and oids by path. */
  readonly files: StampTable;
  readonly outs = new Map<string, OutRecord>();
  readonly #path: string;
  /**
   * The outputs line as the file on disk holds it, when that file is in the
   * current layout (or absent with nothing to hold); undefined when the
   * next save must write it whatever happened (an older layout, a damaged file).
   */
  #onDisk: string | undefined;

  private constructor(dvcDir: string, files: StampTable) {
    this.#path = join(dvcDir, "tmp", "dxp", FILE_NAME);
    this.files = files;
  }

  /** Marks what was just read as the file on disk (see {@link save}). */
  #loaded(): this {
    this.#onDisk = this.#outsLine();
    return this;
  }

  #outsLine(): string {
    return JSON.stringify([...this.outs].map(([p, o]) => [p, o.oid]));
  }

  /**
   * Reads the state of the project at `dvcDir`: a missing file, or one in no
   * layout known here, is an empty state; one that cannot be read (a folder,
   * an I/O error) stops the command before the workspace changes.
   */
  static async load(dvcDir: string): Promise<WorkspaceState> {
    const path = join(dvcDir, "tmp", "dxp", FILE_NAME);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return new WorkspaceState(dvcDir, new StampTable()).#loaded();
    }
    try {
      // The three text lines before the records: grown until they are all in.
      let head = new Uint8Array(64 * 1024);
      for (;;) {
        const n = readSync(fd, head, 0, head.length, 0);
        const text = new TextDecoder("latin1").decode(head.subarray(0, n));
        const layout = text.startsWith(`${HEADER}\n`)
          ? "columns"
          : text.startsWith(`${RECORDS_HEADER}\n`)
          ? "records"
          : undefined;
        if (layout === undefined) break;
        const lines = text.split("\n", 3).join("\n").length;
        if (lines < text.length || n < head.length) {
          return WorkspaceState.#loadBinary(dvcDir, fd, head.subarray(0, n), text, layout);
        }
        head = new Uint8Array(head.length * 4);
      }
    } catch (error) {
      // A folder there, or an I/O error: stop before the workspace changes,
      // rather than at the save after it did.
      throw new StoreError(
        `Cannot read dxp's workspace state '${path}' (${errnoCode(error) ?? String(error)}); ` +
          "remove it (it is rebuilt) and run the command again.",
        { cause: error },
      );
    } finally {
      closeSync(fd);
    }
    const state = new WorkspaceState(dvcDir, new StampTable());
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      return state;
    }
    if (text.startsWith(`${TEXT_HEADER}\n`)) state.#parseText(text);
    else state.#parseVersion1(text);
    return state;
  }

  /**
   * Header line, outputs line (JSON, no line break inside), entry count
   * line, then the entries: as the table's columns, or as 49-byte records.
   */
  static #loadBinary(
    dvcDir: string,
    fd: number,
    bytes: Uint8Array,
    head: string,
    layout: "columns" | "records",
  ): WorkspaceState {
    const empty = () => new WorkspaceState(dvcDir, new StampTable());
    const a = head.indexOf("\n");
    const b = head.indexOf("\n", a + 1);
    const c = head.indexOf("\n", b + 1);
    if (b < 0 || c < 0) return empty();
    const count = Number(head.slice(b + 1, c));
    if (!Number.isInteger(count) || count < 0) return empty();
    let outs: unknown;
    try {
      // `head` is latin1 (one char per byte, for offsets); paths are UTF-8.
      outs = JSON.parse(new TextDecoder().decode(bytes.subarray(a + 1, b)));
    } catch {
      return empty();
    }
    let position = c + 1;
    const readFully = (into: Uint8Array): boolean => {
      for (let got = 0; got < into.length;) {
        const n = readSync(fd, into, got, into.length - got, position + got);
        if (n === 0) return false;
        got += n;
      }
      position += into.length;
      return true;
    };
    const files = layout === "columns"
      ? StampTable.fromColumns(count, readFully)
      : readRecords(count, readFully);
    if (files === undefined) return empty();
    const state = new WorkspaceState(dvcDir, files);
    state.#addOuts(outs);
    // Records are rewritten as columns at the next save, even a no-op's: once.
    return layout === "columns" ? state.#loaded() : state;
  }

  /** The text layout dxp wrote before (`<ino> <mtimeNs> <size> <oid> <scheme> <path>` lines). */
  #parseText(text: string): void {
    const headerEnd = text.indexOf("\n");
    const outsEnd = text.indexOf("\n", headerEnd + 1);
    if (outsEnd < 0) return;
    try {
      this.#addOuts(JSON.parse(text.slice(headerEnd + 1, outsEnd)));
    } catch {
      return;
    }
    for (let start = outsEnd + 1; start < text.length;) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      let at = start - 1;
      for (let field = 0; field < 5 && at < end; field++) {
        at = text.indexOf(" ", at + 1);
        if (at < 0 || at > end) at = end;
      }
      const value = text.slice(start, at);
      if (at < end && VALUE.test(value)) {
        const [ino, mtimeNs, size, oid, scheme] = value.split(" ");
        this.#set(text.slice(at + 1, end), ino!, mtimeNs!, size!, oid!, scheme as HashScheme);
      }
      start = end + 1;
    }
  }

  /** The JSON layout dxp wrote first (`{"version": 1, …}`). */
  #parseVersion1(text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    const record = data as { version?: unknown; files?: unknown; outs?: unknown };
    if (record.version !== 1) return;
    if (Array.isArray(record.files)) {
      for (const row of record.files) {
        if (!Array.isArray(row) || row.length !== 6 || !row.every((v) => typeof v === "string")) {
          continue;
        }
        const [path, ino, mtimeNs, size, oid, scheme] = row as string[];
        if (scheme !== "md5" && scheme !== "md5-dos2unix") continue;
        if (!VALUE.test(`${ino} ${mtimeNs} ${size} ${oid} ${scheme}`)) continue;
        this.#set(path!, ino!, mtimeNs!, size!, oid!, scheme);
      }
    }
    this.#addOuts(record.outs);
  }

  #set(path: string, ino: string, mtimeNs: string, size: string, oid: string, scheme: HashScheme) {
    this.files.set(path, Number(ino), Number(BigInt(mtimeNs)) / 1e6, Number(size), oid, scheme);
  }

  #addOuts(outs: unknown): void {
    if (!Array.isArray(outs)) return;
    for (const row of outs) {
      if (!Array.isArray(row) || typeof row[0] !== "string" || typeof row[1] !== "string") {
        continue;
      }
      this.outs.set(row[0], { oid: row[1], isDir: row[1].endsWith(".dir") });
    }
  }

  /** The recorded oid of `path` when its stamp is unchanged and it was hashed in `scheme`. */
  lookup(path: string, stats: Stamp, scheme: HashScheme): string | undefined {
    return this.files.lookup(
      path,
      Number(stats.ino),
      Number(stats.mtimeNs) / 1e6,
      Number(stats.size),
      scheme,
    );
  }

  /**
   * {@link lookup} for a file stat'ed without bigints (a directory output's
   * 100,000 members): same inode and size, mtime equal to the microsecond.
   * A write moves the mtime by at least a clock tick, and entries are
   * recorded only for files older than two seconds.
   */
  lookupApprox(
    path: string,
    stamp: { readonly ino: number; readonly mtimeMs: number; readonly size: number },
    scheme: HashScheme,
  ): string | undefined {
    return this.files.lookup(path, stamp.ino, stamp.mtimeMs, stamp.size, scheme);
  }

  /** True when {@link lookupApprox} would return `oid` (no string made). */
  holdsApprox(
    path: string,
    stamp: { readonly ino: number; readonly mtimeMs: number; readonly size: number },
    scheme: HashScheme,
    oid: string,
  ): boolean {
    return this.files.holds(path, stamp.ino, stamp.mtimeMs, stamp.size, scheme, oid);
  }

  /** True when `path` still has the stamp recorded for it. */
  unchanged(path: string, stats: Stamp): boolean {
    return this.files.unchanged(
      path,
      Number(stats.ino),
      Number(stats.mtimeNs) / 1e6,
      Number(stats.size),
    );
  }

  record(path: string, stats: Stamp, oid: string, scheme: HashScheme): void {
    this.files.set(
      path,
      Number(stats.ino),
      Number(stats.mtimeNs) / 1e6,
      Number(stats.size),
      oid,
      scheme,
    );
  }

  /** {@link record} from a stat without bigints. */
  recordApprox(
    path: string,
    stamp: { readonly ino: number; readonly mtimeMs: number; readonly size: number },
    oid: string,
    scheme: HashScheme,
  ): void {
    this.files.set(path, stamp.ino, stamp.mtimeMs, stamp.size, oid, scheme);
  }

  /** Drops the entry of `path`. */
  forget(path: string): void {
    this.files.delete(path);
  }

  /**
   * Meant to drop every entry at or below `path`, whose files are gone. The
   * table keeps no paths, so they stay until pruned: harmless, since a new
   * file there has another inode or mtime, so its stamp cannot match them.
   */
  forgetUnder(_path: string): void {}

  /**
   * Writes the state atomically (temp file + rename), a column at a time;
   * not at all when nothing changed since it was read (a no-op checkout or
   * status of a million files would rewrite 49 MB for nothing).
   */
  // async although it awaits nothing: a failure is a rejection, as callers expect.
  // deno-lint-ignore require-await
  async save(): Promise<void> {
    const prune = this.files.size > PRUNE_ABOVE;
    const outs = this.#outsLine();
    if (!prune && !this.files.changed && this.#onDisk === outs) return;
    // Synchronous calls: a few writes at the end of a command, each an
    // await and a hop to the I/O pool otherwise (~4 ms of a 10,000-file checkout).
    mkdirSync(join(this.#path, ".."), { recursive: true });
    const tmp = tempPathFor(this.#path);
    let fd: number | undefined = openSync(tmp, "wx", 0o644);
    try {
      const { count, columns } = this.files.columns(prune);
      writeAll(fd, new TextEncoder().encode(`${HEADER}\n${outs}\n${count}\n`));
      for (const column of columns) writeAll(fd, column);
      const open = fd;
      fd = undefined; // closed once only, failed or not: its number may be reused at once
      closeSync(open);
      renameSync(tmp, this.#path);
      this.#onDisk = outs;
      this.files.markSaved();
    } catch (error) {
      // The error that matters is the first.
      try {
        if (fd !== undefined) closeSync(fd);
      } catch { /* reported above */ }
      try {
        rmSync(tmp, { force: true });
      } catch { /* reported above */ }
      throw error;
    }
  }
}

/** The entries of the layout before columns, read a block of records at a time. */
function readRecords(
  count: number,
  readFully: (into: Uint8Array) => boolean,
): StampTable | undefined {
  const files = new StampTable(count);
  const chunk = new Uint8Array(ENTRY_BYTES * 8192);
  const view = new DataView(chunk.buffer);
  for (let left = count; left > 0;) {
    const want = Math.min(left, 8192) * ENTRY_BYTES;
    if (!readFully(chunk.subarray(0, want))) return undefined;
    for (let at = 0; at < want; at += ENTRY_BYTES) files.addRecord(chunk, at, view);
    left -= want / ENTRY_BYTES;
  }
  return files;
}

/** Writes all of `bytes` (a write may take fewer). */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) {
    done += writeSync(fd, bytes, done, bytes.length - done);
  }
}
