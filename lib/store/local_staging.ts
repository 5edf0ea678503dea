import { lstatSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { errnoCode } from "./errors.ts";
import { isTempName, uniqueTempStem } from "./local_write.ts";

/**
 * A hidden folder untouched this long belongs to a run that died: every
 * live run adds files to its folders as it goes and publishes them when
 * its file phase ends.
 */
export const STALE_HIDDEN_MS = 24 * 60 * 60 * 1000;

/**
 * Object folders that did not exist when this run first wrote into them,
 * filled under a hidden temp name (`.<22 characters>.tmp`, beside them) and
 * renamed into place once by {@link publish}. Every object then needs no
 * rename of its own, yet none is ever visible under its final name before
 * it is whole: a run killed half-way leaves only the hidden folder, which
 * no reader takes for objects (DVC skips names that are not two hex
 * digits). A folder another writer created meanwhile gets the files moved
 * into it one by one instead.
 */
export class StagedFolders {
  /** Final folder → the hidden folder standing for it. */
  readonly #hidden = new Map<string, string>();
  /** Parents already swept of hidden folders left by dead runs. */
  readonly #swept = new Set<string>();

  constructor(private readonly ensureDirSync: (dir: string) => void) {}

  /** True when `folder` is being filled under a hidden name. */
  has(folder: string): boolean {
    return this.#hidden.has(folder);
  }

  /** The hidden folder standing for `folder`, made on first use. */
  hiddenFor(folder: string): string {
    let hidden = this.#hidden.get(folder);
    if (hidden === undefined) {
      const parent = dirname(folder);
      if (!this.#swept.has(parent)) {
        this.#swept.add(parent);
        sweepStaleHidden(parent, Date.now() - STALE_HIDDEN_MS);
      }
      hidden = join(parent, `.${uniqueTempStem()}.tmp`);
      this.ensureDirSync(hidden);
      this.#hidden.set(folder, hidden);
    }
    return hidden;
  }

  /**
   * Gives every hidden folder its final name and returns the folders
   * published. Throws the first failure; folders not yet published stay
   * pending for the next call.
   */
  publish(): string[] {
    const done: string[] = [];
    for (const [folder, hidden] of this.#hidden) {
      publishFolder(folder, hidden);
      this.#hidden.delete(folder);
      done.push(folder);
    }
    return done;
  }
}

function publishFolder(folder: string, hidden: string): void {
  try {
    renameSync(hidden, folder);
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "EEXIST" && code !== "ENOTEMPTY") throw error;
  }
  // Someone else made the folder meanwhile: each file is whole and verified, move it in.
  for (const name of readdirSync(hidden)) renameSync(join(hidden, name), join(folder, name));
  rmdirSync(hidden);
}

/** Removes the hidden folders under `parent` last changed before `cutoff` (best effort). */
export function sweepStaleHidden(parent: string, cutoff: number): void {
  let entries;
  try {
    entries = readdirSync(parent, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || !isTempName(entry.name)) continue;
    const path = join(parent, entry.name);
    try {
      if (lstatSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
    } catch { /* another run removed or published it */ }
  }
}
