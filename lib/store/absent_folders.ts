import { lstatSync } from "node:fs";
import { sep } from "node:path";

/**
 * Folders seen missing, so that a file under one is known missing without a
 * system call of its own. An empty remote or a fresh clone's cache has no
 * object folders at all: 200,000 objects spread over 256 folders then cost
 * 256 lstats instead of 200,000. A folder that cannot be examined counts as
 * present (the caller then checks the file itself, as before).
 *
 * A folder's absence is remembered until {@link forget}: the owner calls it
 * when it writes into the folder. Another process creating the folder
 * meanwhile only makes the owner fetch or send an object twice, which the
 * write itself (temp file, rename, same bytes) makes harmless.
 */
export class AbsentFolders {
  readonly #absent = new Set<string>();
  readonly #present = new Set<string>();

  /** True when the folder holding `path` is known not to exist (one lstat per folder). */
  holds(path: string): boolean {
    // dirname() without its cost (this runs once per object): object paths have no trailing separator.
    const at = path.lastIndexOf(sep);
    const dir = at < 0 ? "." : path.slice(0, Math.max(at, 1));
    if (this.#present.has(dir)) return false;
    if (this.#absent.has(dir)) return true;
    let exists = true;
    try {
      exists = lstatSync(dir, { throwIfNoEntry: false }) !== undefined;
    } catch {
      // unreadable: let the caller look at the file itself
    }
    if (this.#present.size + this.#absent.size >= MAX_FOLDERS) this.#reset();
    (exists ? this.#present : this.#absent).add(dir);
    return !exists;
  }

  /** `dir` is being written into: it is no longer known missing. */
  forget(dir: string): void {
    this.#absent.delete(dir);
  }

  #reset(): void {
    this.#absent.clear();
    this.#present.clear();
  }
}

/** Two object folder levels (256 + 256 × 256 at most) would be far fewer; this bounds a pathological tree. */
const MAX_FOLDERS = 100_000;
