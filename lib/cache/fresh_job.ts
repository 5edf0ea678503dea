import { madeStamp, type NativeFreshType, placeFreshNative } from "./place_fresh_native.ts";

/**
 * A run of files to place in a fresh folder with {@link placeFreshNative},
 * in one message to the checkout's helper thread (or done on the main
 * thread when the helper is busy): `src[i]` (a cache object) to `dest[i]`.
 */
export interface FreshJob {
  readonly type: NativeFreshType;
  /** Mode of copies. */
  readonly mode: number;
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

export function runFreshJob(job: FreshJob): FreshOutcome {
  const n = job.src.length;
  const placed = new Uint8Array(n);
  const stamps = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    try {
      if (!placeFreshNative(job.type, job.src[i]!, job.dest[i]!, job.mode)) continue;
    } catch {
      // A call node:fs answered with an error: nothing of this file was left; the caller retries it.
      continue;
    }
    placed[i] = 1;
    stamps[3 * i] = madeStamp.ino;
    stamps[3 * i + 1] = madeStamp.mtimeMs;
    stamps[3 * i + 2] = madeStamp.size;
  }
  return { placed, stamps };
}
