import { FolderLstat } from "./quick_lstat.ts";

/**
 * A run of lstat calls for the checkout's helper thread: each of `names`
 * (paths relative to `root`, sorted as a `.dir` manifest lists them, so a
 * folder's entries come in runs) looked up with {@link FolderLstat}. The
 * no-op checkout of a big directory output is mostly these calls; run on a
 * second thread they overlap with reading the manifest and matching the
 * stamps on the main one.
 */
export interface LstatJob {
  readonly root: string;
  readonly names: readonly string[];
}

/**
 * An {@link LstatJob} as sent to the helper thread: the names as one
 * NUL-joined string (no path holds a NUL; copying one string into another
 * thread costs a fraction of copying thousands).
 */
export interface PackedLstatJob {
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

export function packLstatJob(job: LstatJob): PackedLstatJob {
  return { root: job.root, count: job.names.length, names: job.names.join("\0") };
}

/** The job packed by {@link packLstatJob}: undefined when a name held a NUL after all. */
export function unpackLstatJob(job: PackedLstatJob): LstatJob | undefined {
  const names = job.names.split("\0");
  return names.length === job.count ? { root: job.root, names } : undefined;
}

/** Every name of a job that could not be unpacked: asked again by the caller. */
export function askAllAgain(job: PackedLstatJob): LstatOutcome {
  return { stamps: new Float64Array(4 * job.count).fill(LSTAT_ASK_AGAIN) };
}

export function runLstatJob(job: LstatJob): LstatOutcome {
  const { names } = job;
  const stamps = new Float64Array(4 * names.length).fill(LSTAT_ASK_AGAIN);
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
