import { closeSync, openSync } from "node:fs";
import { O_DIRECTORY, O_PATH } from "../util/libc.ts";
import { madeStamp, type NativeFreshType, placeFreshNative } from "./place_fresh_native.ts";

/**
 * A run of files to place in a fresh folder with {@link placeFreshNative},
 * in one message to the checkout's helper thread (or done on the main
 * thread when the helper is busy): `src[i]` (a cache object, relative to
 * `srcRoot`, the cache folder) to `dest[i]` (relative to `destRoot`, the
 * fresh folder).
 */
export interface FreshJob {
  readonly type: NativeFreshType;
  /** Mode of copies. */
  readonly mode: number;
  readonly srcRoot: string;
  readonly destRoot: string;
  readonly src: string[];
  readonly dest: string[];
}

/**
 * What became of a {@link FreshJob}: `placed[i]` is 1 when file i was made,
 * its stamp then in `stamps[3i..3i+2]` (ino, mtimeMs, size); 0 when the
 * caller must place it another way (nothing of it was left behind).
 */
export interface FreshOutcome {
  readonly placed: Uint8Array<ArrayBuffer>;
  readonly stamps: Float64Array<ArrayBuffer>;
}

/**
 * A {@link FreshJob} as sent to the helper thread: each list as one string,
 * NUL-separated (no path holds a NUL). Copying two strings into the other
 * thread costs a fraction of copying a thousand.
 */
export interface PackedFreshJob {
  readonly type: NativeFreshType;
  readonly mode: number;
  readonly srcRoot: string;
  readonly destRoot: string;
  readonly count: number;
  readonly src: string;
  readonly dest: string;
}

export function packFreshJob(job: FreshJob): PackedFreshJob {
  const { type, mode, srcRoot, destRoot } = job;
  return {
    type,
    mode,
    srcRoot,
    destRoot,
    count: job.src.length,
    src: job.src.join("\0"),
    dest: job.dest.join("\0"),
  };
}

/**
 * The job packed by {@link packFreshJob}. Should a path hold a NUL after
 * all, the lists no longer have `count` entries: the job then places
 * nothing, and the main thread's node:fs path refuses that path.
 */
export function unpackFreshJob(job: PackedFreshJob): FreshJob {
  const { type, mode, srcRoot, destRoot } = job;
  const src = job.src.split("\0");
  const dest = job.dest.split("\0");
  if (src.length !== job.count || dest.length !== job.count) {
    const none = Array<string>(job.count).fill("");
    return { type, mode, srcRoot, destRoot, src: none, dest: none };
  }
  return { type, mode, srcRoot, destRoot, src, dest };
}

/**
 * Places the files of `job`, naming them from descriptors of its two roots
 * (opened once per job). Roots that cannot be opened place nothing: the
 * caller's node:fs path then meets and reports whatever is wrong.
 */
export function runFreshJob(job: FreshJob): FreshOutcome {
  const n = job.src.length;
  const placed = new Uint8Array(n);
  const stamps = new Float64Array(3 * n);
  const srcDir = openFolder(job.srcRoot);
  const destDir = srcDir < 0 ? -1 : openFolder(job.destRoot);
  try {
    for (let i = 0; i < n && destDir >= 0; i++) {
      try {
        if (!placeFreshNative(job.type, srcDir, job.src[i]!, destDir, job.dest[i]!, job.mode)) {
          continue;
        }
      } catch {
        // A call node:fs answered with an error: nothing of this file was left; the caller retries it.
        continue;
      }
      placed[i] = 1;
      stamps[3 * i] = madeStamp.ino;
      stamps[3 * i + 1] = madeStamp.mtimeMs;
      stamps[3 * i + 2] = madeStamp.size;
    }
  } finally {
    if (srcDir >= 0) closeSync(srcDir);
    if (destDir >= 0) closeSync(destDir);
  }
  return { placed, stamps };
}

/** A handle to look names up under `folder` (O_PATH, as FolderLstat opens its folders), or -1. */
function openFolder(folder: string): number {
  try {
    return openSync(folder, O_PATH | O_DIRECTORY);
  } catch {
    return -1;
  }
}
