import { FolderLstat } from "./quick_lstat.ts";

/**
 * A run of lstat calls for the checkout's helper thread: each of `names`
 * (paths relative to `root`, sorted as a `.dir` manifest lists them, so a
 * folder's entries come together) looked up with {@link FolderLstat}. The
 * no-op checkout of a big directory output is mostly these calls; run on a
 * second thread they overlap with reading the manifest and matching the
 * stamps on the main one. Names travel as one NUL-joined string (no path
 * holds a NUL; copying one string into another thread costs a fraction of
 * copying thousands).
 */
export interface LstatJob {
  readonly root: string;
  readonly count: number;
  readonly names: string;
}

/**
 * What {@link runLstatJob} found: four numbers per name, `stamps[4i..4i+3]`
 * = mode, inode, mtimeMs, size; mode {@link LSTAT_MISSING} when nothing is
 * there, {@link LSTAT_ASK_AGAIN} when the call failed otherwise (the main
 * thread then asks itself, so the error it reports is its own).
 */
export interface LstatOutcome {
  readonly stamps: Float64Array<ArrayBuffer>;
}

export const LSTAT_MISSING = -1;
export const LSTAT_ASK_AGAIN = -2;

export function lstatJob(root: string, names: readonly string[]): LstatJob {
  return { root, count: names.length, names: names.join("\0") };
}

export function runLstatJob(job: LstatJob): LstatOutcome {
  const stamps = new Float64Array(4 * job.count).fill(LSTAT_ASK_AGAIN);
  const names = job.names.split("\0");
  // A NUL in a name after all: the lists no longer match, every name is asked again.
  if (names.length !== job.count) return { stamps };
  const folders = new FolderLstat();
  let folder = "";
  let folderAbs = "";
  try {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const slash = name.lastIndexOf("/");
      // Sorted: the folder's string is made once per folder, not per name.
      if (slash !== folder.length || !name.startsWith(folder)) {
        folder = slash < 0 ? "" : name.slice(0, slash);
        folderAbs = slash < 0 ? job.root : `${job.root}/${folder}`;
      }
      let seen;
      try {
        seen = folders.lstat(folderAbs, name.slice(slash + 1));
      } catch {
        continue; // asked again by the caller
      }
      if (seen === undefined) {
        stamps[4 * i] = LSTAT_MISSING;
        continue;
      }
      stamps[4 * i] = seen.mode;
      stamps[4 * i + 1] = seen.ino;
      stamps[4 * i + 2] = seen.mtimeMs;
      stamps[4 * i + 3] = seen.size;
    }
  } finally {
    folders.close();
  }
  return { stamps };
}
