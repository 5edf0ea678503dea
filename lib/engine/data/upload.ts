import { lstatSync } from "node:fs";
import { parseObjectKey } from "../../core/object_key.ts";
import { isProtectedMode } from "../../store/local_verify.ts";
import { isTransient, stopsQueue } from "../../store/errors.ts";
import { readProtectedSmallSync } from "../../store/local_small.ts";
import type { SmallObjects, Store } from "../../store/types.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import { defaultJobs } from "../../transfer/queue.ts";
import { runWorkers } from "../../transfer/workers.ts";
import { markListed } from "./listing.ts";
import {
  expectOf,
  Failures,
  type FileMove,
  fileMoves,
  Flag,
  PhaseProgress,
  publishSmallWrites,
  resetMoves,
} from "./moves.ts";
import type { PlannedDir, RemoteObjects } from "./objects.ts";
import type { RemotePlan } from "./plan.ts";
import type { DataRuntime } from "./runtime.ts";

/** Existence queries in flight at once for `.dir` objects. */
const DIR_CHECKS = 16;

/** What uploading one remote's objects did. */
export interface RemoteUpload {
  readonly transferred: number;
  readonly failures: Failures;
  readonly stoppedBy?: Error;
}

/**
 * Uploads the objects of one remote the remote lacks (spec §4.4): first the
 * `.dir` objects are asked for (one there vouches for all its files, DVC's
 * shortcut); then, when the store can list and that costs fewer requests,
 * the folders involved are listed, and the other files are asked for one
 * by one; then each file the remote lacks is checked in the cache (missing
 * ones are flagged absent) and uploaded. A `.dir` goes last, and only when every one of its
 * files is there: the remote never holds a manifest promising a file it
 * lacks. Files are produced one at a time from the plan's digest sets, so
 * memory does not grow with their number.
 */
export async function uploadRemote(rt: DataRuntime, plan: RemotePlan): Promise<RemoteUpload> {
  const { store, memo } = await rt.storeFor(plan.remote);
  const objects = plan.objects;
  const failures = new Failures();
  const signal = rt.signal;

  const checking = new PhaseProgress(rt, "checking");
  // Only directories moved whole: a part of one never sends (nor checks) its `.dir`.
  const dirs = [...objects.dirs.values()].filter((d) =>
    d.manifest !== undefined && objects.whole.has(d.object.key)
  );
  checking.totalObjects = dirs.length;
  checking.emit(true);
  const present: PlannedDir[] = [];
  await forEachLimit(dirs, DIR_CHECKS, signal, async (dir) => {
    const key = dir.object.key;
    if (memo.has(key) || (await store.exists(key, signal))) {
      memo.add(key);
      present.push(dir);
    }
    checking.doneObjects++;
    checking.emit();
  });
  for (const dir of present) {
    objects.dirOutcomes.set(dir.object.key, "ok");
    const set = objects.setOf(dir.object.scheme);
    for (const batch of dir.manifest!.batches()) {
      for (const md5 of batch.md5) {
        const slot = set.indexOf(md5);
        if (slot >= 0) set.setFlag(slot, Flag.present);
      }
    }
  }
  for (const key of objects.sizes.keys()) {
    if (memo.has(key)) markPresent(objects, key);
  }
  const listed = store.canList ? await markListed(store, objects, rt, checking) : new Set<string>();
  // The rest is asked one by one (a local remote: one lstat each), before anything moves.
  const asking = fileMoves(objects, Flag.present);
  checking.totalObjects += objects.fileCount - objects.countFiles(Flag.present);
  const small = store.small;
  const asked = await runWorkers(() => {
    const r = asking.next();
    return r.done ? undefined : r.value;
  }, async (move) => {
    const folder = move.key.slice(0, move.key.lastIndexOf("/") + 1);
    if (!listed.has(folder) && (await store.exists(move.key, signal))) {
      move.set.setFlag(move.slot, Flag.present);
    }
    checking.doneObjects++;
    checking.emit();
  }, {
    jobs: DIR_CHECKS,
    signal,
    // A local remote answers most keys with one look, without a promise each.
    trySync: small && !store.canList
      ? (move) => {
        const there = small.existsSync(move.key);
        if (there === undefined) return false;
        if (there) move.set.setFlag(move.slot, Flag.present);
        checking.doneObjects++;
        checking.emit();
        return true;
      }
      : undefined,
  });
  if (asked.stoppedBy) throw asked.stoppedBy;
  resetMoves(objects);
  checking.emit(true);

  const progress = new PhaseProgress(rt, "uploading");
  progress.totalObjects = objects.fileCount - objects.countFiles(Flag.present) +
    dirs.length - present.length;
  for (const [key, size] of objects.sizes) {
    if ((objects.flagsOf(key) & Flag.present) === 0) progress.totalBytes += size;
  }
  progress.emit(true);
  let transferred = 0;
  rt.onMoving?.();
  const moves = fileMoves(objects, Flag.present);
  const outcome = await runWorkers(() => {
    const r = moves.next();
    return r.done ? undefined : r.value;
  }, async (move) => {
    const flag = await uploadFile(rt, store, move, progress, failures);
    move.set.setFlag(move.slot, flag);
    if (flag === Flag.done) transferred++;
    progress.doneObjects++;
    progress.emit();
  }, {
    jobs: rt.jobsFor(plan.remote) ?? defaultJobs(),
    signal,
    // A folder on this machine has no credential to get wrong: its first (often largest)
    // object need not go alone, and the others go on while it is copied beside them.
    gate: small === undefined,
    trySync: small
      ? (move) => {
        const flag = uploadSmallSync(rt, small, move, progress, failures);
        if (flag === undefined) return false;
        move.set.setFlag(move.slot, flag);
        if (flag === Flag.done) transferred++;
        progress.doneObjects++;
        progress.emit();
        return true;
      }
      : undefined,
  });
  // Before any `.dir` goes and before anything reads them, even after a failure or
  // an interruption: every object written so far is whole and checked.
  const unpublished = publishSmallWrites(small);
  const stoppedBy = outcome.stoppedBy ?? unpublished;
  if (stoppedBy) return { transferred, failures, stoppedBy };
  objects.invalidate();

  // Manifests last, each only once all its files are on the remote.
  for (const dir of dirs) {
    const key = dir.object.key;
    if (objects.dirOutcomes.has(key)) continue;
    const members = objects.membersOutcome(dir);
    progress.doneObjects++;
    if (members !== "ok") {
      objects.dirOutcomes.set(key, members);
      continue;
    }
    const local = rt.cache.objectPath(dir.object.oid, dir.object.scheme);
    try {
      await store.put(key, local, {
        expect: expectOf(dir.object.oid, dir.object.scheme),
        ...(signal ? { signal } : {}),
      });
      memo.add(key);
      objects.dirOutcomes.set(key, "ok");
      transferred++;
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      if (stopsQueue(e)) return { transferred, failures, stoppedBy: e };
      failures.add(key, e);
      objects.dirOutcomes.set(key, "failed");
    }
  }
  progress.emit(true);
  return { transferred, failures };
}

/** Uploads one file unless the remote has it; returns the flag it ends with. */
async function uploadFile(
  rt: DataRuntime,
  store: Store,
  move: FileMove,
  progress: PhaseProgress,
  failures: Failures,
): Promise<number> {
  const signal = rt.signal;
  const localPath = rt.cache.objectPath(move.oid, move.scheme);
  // One lstat: the size for progress, and mode 0444 means the cache vouches for the bytes.
  let size: number;
  try {
    const info = lstatSync(localPath, { throwIfNoEntry: false });
    if (info === undefined || !info.isFile()) return Flag.absent;
    size = info.size;
    if (!isProtectedMode(info.mode) && !(await rt.cache.has(move.oid, move.scheme, signal))) {
      return Flag.absent;
    }
  } catch {
    return Flag.absent;
  }
  if (move.size === undefined) progress.totalBytes += size;
  let moved = 0;
  try {
    await store.put(move.key, localPath, {
      expect: expectOf(move.oid, move.scheme),
      size,
      ...(signal ? { signal } : {}),
      onBytes: (n) => {
        moved += n;
        progress.doneBytes += n;
        progress.emit();
      },
    });
    progress.doneBytes += size - moved;
    return Flag.done;
  } catch (error) {
    progress.doneBytes -= moved;
    const e = error instanceof Error ? error : new Error(String(error));
    if (stopsQueue(e)) throw e;
    failures.add(move.key, e);
    return Flag.failed;
  }
}

/**
 * {@link uploadFile} for a small file the cache vouches for, to a store on
 * this machine, without a promise: one open, fstat, read and close of the
 * cache object, then the store's synchronous write. Undefined hands the file
 * to uploadFile (a file to re-hash, a large one, a transient error).
 */
function uploadSmallSync(
  rt: DataRuntime,
  small: SmallObjects,
  move: FileMove,
  progress: PhaseProgress,
  failures: Failures,
): number | undefined {
  const localPath = rt.cache.objectPath(move.oid, move.scheme);
  const bytes = readProtectedSmallSync(localPath);
  if (bytes === "missing") return Flag.absent;
  if (bytes === "other") return undefined;
  try {
    small.writeSync(move.key, bytes, {
      expect: expectOf(move.oid, move.scheme),
      sourceLabel: `'${localPath}'`,
      from: localPath,
    });
  } catch (error) {
    if (isTransient(error)) return undefined;
    const e = error instanceof Error ? error : new Error(String(error));
    if (stopsQueue(e)) throw e;
    failures.add(move.key, e);
    return Flag.failed;
  }
  if (move.size === undefined) progress.totalBytes += bytes.length;
  progress.doneBytes += bytes.length;
  return Flag.done;
}

function markPresent(objects: RemoteObjects, key: string): void {
  const parsed = parseObjectKey(key);
  if (parsed === undefined) return;
  const set = objects.setOf(parsed.scheme);
  const slot = set.indexOf(parsed.oid);
  if (slot >= 0) set.setFlag(slot, Flag.present);
}
