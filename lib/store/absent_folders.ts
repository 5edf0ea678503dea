import { lstatSync } from "node:fs";
import { sep } from "node:path";

/** What is known of one folder. */
const enum Seen {
  /** It exists (or could not be examined): look at each file. */
  Present,
  /** It did not exist when first looked at, and nothing has been written into it since. */
  Absent,
  /** It did not exist when first looked at, and only its owner has written into it since. */
  OnlyOurs,
}

/**
 * Folders seen missing, so that a file under one is known missing without a
 * system call of its own. An empty remote or a fresh clone's cache has no
 * object folders at all: 200,000 objects spread over 256 folders then cost
 * 256 lstats instead of 200,000. A folder that cannot be examined counts as
 * present (the caller then checks the file itself, as before).
 *
 * The owner reports its writes ({@link wroteInto}): a folder it writes into
 * is no longer absent, but still holds only what the owner put there, so a
 * write needs no look for an object already in place. Another process
 * writing into the folder meanwhile only makes the owner fetch or send an
 * object twice, which the write itself (temp file, rename, the same
 * verified bytes) makes harmless.
 */
export class AbsentFolders {
  readonly #folders = new Map<string, Seen>();

  /** True when the folder holding `path` is known not to exist (one lstat per folder). */
  holds(path: string): boolean {
    return this.#seen(folderOf(path)) === Seen.Absent;
  }

  /**
   * True when nothing but the owner's own writes can be in the folder holding
   * `path` (it was missing when first looked at). Looks only at folders
   * already seen: an unknown one is not looked up here.
   */
  onlyOurs(path: string): boolean {
    const seen = this.#folders.get(folderOf(path));
    return seen === Seen.Absent || seen === Seen.OnlyOurs;
  }

  /** The owner writes `path`: its folder is no longer missing, and holds only the owner's writes. */
  wrote(path: string): void {
    const dir = folderOf(path);
    if (this.#folders.get(dir) === Seen.Absent) this.#folders.set(dir, Seen.OnlyOurs);
  }

  #seen(dir: string): Seen {
    const known = this.#folders.get(dir);
    if (known !== undefined) return known;
    let exists = true;
    try {
      exists = lstatSync(dir, { throwIfNoEntry: false }) !== undefined;
    } catch {
      // unreadable: let the caller look at the file itself
    }
    if (this.#folders.size >= MAX_FOLDERS) this.#folders.clear();
    const seen = exists ? Seen.Present : Seen.Absent;
    this.#folders.set(dir, seen);
    return seen;
  }
}

/** dirname() without its cost (this runs once per object): object paths have no trailing separator. */
function folderOf(path: string): string {
  const at = path.lastIndexOf(sep);
  return at < 0 ? "." : path.slice(0, Math.max(at, 1));
}

/** Two object folder levels (256 + 256 × 256 at most) would be far fewer; this bounds a pathological tree. */
const MAX_FOLDERS = 100_000;
