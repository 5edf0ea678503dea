import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
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

/** What was recorded about one workspace file: its stat stamp and content oid. */
export interface StateEntry {
  readonly ino: string;
  readonly mtimeNs: string;
  readonly size: string;
  readonly oid: string;
  readonly scheme: HashScheme;
}

/** An output the checkout materialised (for removing it once no stage declares it). */
export interface OutRecord {
  readonly oid: string;
  readonly isDir: boolean;
}

const FILE_NAME = "checkout-state.json";
const VERSION = 1;

/**
 * What the checkout knows about the workspace, kept in
 * `.dvc/tmp/dxp/checkout-state.json` (never committed, like DVC's state DB):
 * for each file it wrote or hashed, the (inode, mtime, size) stamp and the
 * oid, so an untouched file is recognised without re-hashing; and the
 * outputs it materialised, so outputs a later revision drops can be removed
 * when they are still exactly what was written (DVC's "unused links").
 */
export class WorkspaceState {
  readonly files = new Map<string, StateEntry>();
  readonly outs = new Map<string, OutRecord>();
  readonly #path: string;

  private constructor(dvcDir: string) {
    this.#path = join(dvcDir, "tmp", "dxp", FILE_NAME);
  }

  /** Reads the state of the project at `dvcDir`; a missing or unreadable file is an empty state. */
  static async load(dvcDir: string): Promise<WorkspaceState> {
    const state = new WorkspaceState(dvcDir);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(state.#path, "utf8"));
    } catch {
      return state;
    }
    const record = data as { version?: unknown; files?: unknown; outs?: unknown };
    if (record.version !== VERSION) return state;
    if (Array.isArray(record.files)) {
      for (const row of record.files) {
        if (!Array.isArray(row) || row.length !== 6 || !row.every((v) => typeof v === "string")) {
          continue;
        }
        const [path, ino, mtimeNs, size, oid, scheme] = row as string[];
        if (scheme !== "md5" && scheme !== "md5-dos2unix") continue;
        state.files.set(path!, { ino: ino!, mtimeNs: mtimeNs!, size: size!, oid: oid!, scheme });
      }
    }
    if (Array.isArray(record.outs)) {
      for (const row of record.outs) {
        if (!Array.isArray(row) || typeof row[0] !== "string" || typeof row[1] !== "string") {
          continue;
        }
        state.outs.set(row[0], { oid: row[1], isDir: row[1].endsWith(".dir") });
      }
    }
    return state;
  }

  /** The recorded oid of `path` when its stamp is unchanged and it was hashed in `scheme`. */
  lookup(path: string, stats: Stamp, scheme: HashScheme): string | undefined {
    const entry = this.files.get(path);
    if (entry === undefined || entry.scheme !== scheme) return undefined;
    return sameStamp(entry, stats) ? entry.oid : undefined;
  }

  /** True when `path` still has the stamp recorded for it. */
  unchanged(path: string, stats: Stamp): boolean {
    const entry = this.files.get(path);
    return entry !== undefined && sameStamp(entry, stats);
  }

  record(path: string, stats: Stamp, oid: string, scheme: HashScheme): void {
    this.files.set(path, {
      ino: String(stats.ino),
      mtimeNs: String(stats.mtimeNs),
      size: String(stats.size),
      oid,
      scheme,
    });
  }

  /** Drops every file entry at or below `path`. */
  forgetUnder(path: string): void {
    const prefix = `${path}/`;
    for (const key of [...this.files.keys()]) {
      if (key === path || key.startsWith(prefix)) this.files.delete(key);
    }
  }

  /** Writes the state atomically (temp file + rename). */
  async save(): Promise<void> {
    const files = [...this.files].map(([path, e]) => [
      path,
      e.ino,
      e.mtimeNs,
      e.size,
      e.oid,
      e.scheme,
    ]);
    const outs = [...this.outs].map(([path, o]) => [path, o.oid]);
    const text = JSON.stringify({ version: VERSION, outs, files });
    await mkdir(join(this.#path, ".."), { recursive: true });
    const tmp = tempPathFor(this.#path);
    try {
      await writeFile(tmp, text, { mode: 0o644 });
      await rename(tmp, this.#path);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }
}

function sameStamp(entry: StateEntry, stats: Stamp): boolean {
  return entry.ino === String(stats.ino) && entry.mtimeNs === String(stats.mtimeNs) &&
    entry.size === String(stats.size);
}
