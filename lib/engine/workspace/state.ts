import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { HashScheme } from "../../util/object_hasher.ts";
import { tempPathFor } from "../../cache/link.ts";

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
const HEADER = "dxp-workspace-state 2";
const VALUE = /^\d+ \d+ \d+ [0-9a-f]{32}(?:\.dir)? md5(?:-dos2unix)?$/;

/**
 * What dxp knows about the workspace, kept in
 * `.dvc/tmp/dxp/checkout-state.json` (never committed, like DVC's state DB):
 * for each file it wrote or hashed, the (inode, mtime, size) stamp and the
 * oid, so an untouched file is recognised without re-hashing (checkout and
 * `exp save` share it); and the outputs the checkout materialised, so
 * outputs a later revision drops can be removed when they are still exactly
 * what was written (DVC's "unused links").
 *
 * Compact for 100,000-file outputs: one string per file in memory
 * (`<ino> <mtimeNs> <size> <oid> <scheme>`) and one text line per file on
 * disk (that string, then the path), instead of objects and JSON arrays.
 */
export class WorkspaceState {
  /** Path → `<ino> <mtimeNs> <size> <oid> <scheme>`. */
  readonly files = new Map<string, string>();
  readonly outs = new Map<string, OutRecord>();
  readonly #path: string;

  private constructor(dvcDir: string) {
    this.#path = join(dvcDir, "tmp", "dxp", FILE_NAME);
  }

  /** Reads the state of the project at `dvcDir`; a missing or unreadable file is an empty state. */
  static async load(dvcDir: string): Promise<WorkspaceState> {
    const state = new WorkspaceState(dvcDir);
    let text: string;
    try {
      text = await readFile(state.#path, "utf8");
    } catch {
      return state;
    }
    if (text.startsWith(`${HEADER}\n`)) state.#parse(text);
    else state.#parseVersion1(text);
    return state;
  }

  #parse(text: string): void {
    // Walked with indexOf and slices of the one text: no array of 100,000 lines.
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
      if (at < end && VALUE.test(text.slice(start, at))) {
        this.files.set(text.slice(at + 1, end), text.slice(start, at));
      }
      start = end + 1;
    }
  }

  /** The JSON layout dxp wrote before (`{"version": 1, …}`). */
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
        this.files.set(path!, `${ino} ${mtimeNs} ${size} ${oid} ${scheme}`);
      }
    }
    this.#addOuts(record.outs);
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
    const value = this.files.get(path);
    const prefix = stampText(stats);
    if (value === undefined || !value.startsWith(prefix)) return undefined;
    const space = value.indexOf(" ", prefix.length);
    return value.slice(space + 1) === scheme ? value.slice(prefix.length, space) : undefined;
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
    const value = this.files.get(path);
    if (value === undefined) return undefined;
    const a = value.indexOf(" ");
    const b = value.indexOf(" ", a + 1);
    const c = value.indexOf(" ", b + 1);
    const d = value.indexOf(" ", c + 1);
    // Digits are read in place: four slices per file would be 100,000s of small strings.
    if (
      d < 0 || value.length - d - 1 !== scheme.length || !value.endsWith(scheme) ||
      digitsAt(value, 0, a) !== stamp.ino || digitsAt(value, b + 1, c) !== stamp.size ||
      Math.abs(digitsAt(value, a + 1, b) / 1e6 - stamp.mtimeMs) >= 0.001
    ) {
      return undefined;
    }
    return value.slice(c + 1, d);
  }

  /** True when `path` still has the stamp recorded for it. */
  unchanged(path: string, stats: Stamp): boolean {
    return this.files.get(path)?.startsWith(stampText(stats)) ?? false;
  }

  record(path: string, stats: Stamp, oid: string, scheme: HashScheme): void {
    // A path with a line break cannot be stored on one line; it is simply re-hashed.
    if (path.includes("\n")) return;
    this.files.set(path, [stats.ino, stats.mtimeNs, stats.size, oid, scheme].join(" "));
  }

  /** Drops every file entry at or below `path`. */
  forgetUnder(path: string): void {
    const prefix = `${path}/`;
    for (const key of [...this.files.keys()]) {
      if (key === path || key.startsWith(prefix)) this.files.delete(key);
    }
  }

  /** Writes the state atomically (temp file + rename), a few thousand lines at a time. */
  async save(): Promise<void> {
    await mkdir(join(this.#path, ".."), { recursive: true });
    const tmp = tempPathFor(this.#path);
    const handle = await open(tmp, "wx", 0o644);
    try {
      let batch = [HEADER, "\n", JSON.stringify([...this.outs].map(([p, o]) => [p, o.oid])), "\n"];
      for (const [path, value] of this.files) {
        // Pieces, not a template literal: a rope per line would be garbage.
        batch.push(value, " ", path);
        batch.push("\n");
        if (batch.length >= 16384) {
          await handle.write(batch.join(""));
          batch = [];
        }
      }
      await handle.write(batch.join(""));
      await handle.close();
      await rename(tmp, this.#path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }
}

/** The decimal number in `text[start, end)` (as a float beyond 2^53). */
function digitsAt(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

function stampText(stats: Stamp): string {
  return `${stats.ino} ${stats.mtimeNs} ${stats.size} `;
}
