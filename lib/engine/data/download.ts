import { lstatSync } from "node:fs";
import { AbsentFolders } from "../../store/absent_folders.ts";
import { isNotFound, isTransient, stopsQueue } from "../../store/errors.ts";
import { isProtectedMode } from "../../store/local_verify.ts";
import type { SmallObjects, Store } from "../../store/types.ts";
import { defaultJobs } from "../../transfer/queue.ts";
import { runWorkers } from "../../transfer/workers.ts";
import {
  expectOf,
  Failures,
  type FileMove,
  fileMoves,
  Flag,
  PhaseProgress,
  publishSmallWrites,
} from "./moves.ts";
import type { RemotePlan } from "./plan.ts";
import type { DataRuntime } from "./runtime.ts";

/** What downloading one remote's objects did. */
export interface RemoteDownload {
  readonly transferred: number;
  readonly failures: Failures;
  readonly stoppedBy?: Error;
}

/**
 * Downloads the objects of one remote the cache lacks: each file is looked
 * up in the cache (a 0444 file is trusted, another re-hashed) and, when it
 * is not there, fetched straight away (verified before it gets its name);
 * one the remote does not have is flagged absent (no existence query
 * first: the fetch itself says so). A staged `.dir` manifest enters the
 * cache only once every one of its files is there. Files are produced one
 * at a time from the plan's digest sets, so memory does not grow with
 * their number.
 */
export async function downloadRemote(rt: DataRuntime, plan: RemotePlan): Promise<RemoteDownload> {
  const { store } = await rt.storeFor(plan.remote);
  const objects = plan.objects;
  const failures = new Failures();
  const progress = new PhaseProgress(rt, "downloading");
  progress.totalObjects = objects.fileCount;
  for (const size of objects.sizes.values()) progress.totalBytes += size;
  progress.emit(true);
  let transferred = 0;
  // Cache folders missing when the run starts (a fresh clone has none): their objects are
  // absent without an lstat each. Never forgotten during the run: every object is fetched
  // once, so one under such a folder can only have appeared through another process (and
  // fetching it again writes the same bytes).
  const absent = new AbsentFolders();
  const moves = fileMoves(objects, 0);
  const finish = (move: FileMove, flag: number) => {
    move.set.setFlag(move.slot, flag);
    if (flag === Flag.done) transferred++;
    progress.doneObjects++;
    progress.emit();
  };
  const remoteSmall = store.small;
  const cacheSmall = rt.cache.store.small;
  const outcome = await runWorkers(() => {
    const r = moves.next();
    return r.done ? undefined : r.value;
  }, async (move) => {
    finish(move, await downloadFile(rt, store, move, progress, failures, absent));
  }, {
    jobs: rt.jobsFor(plan.remote) ?? defaultJobs(),
    signal: rt.signal,
    // A folder on this machine has no credential to get wrong (see uploadRemote).
    gate: remoteSmall === undefined,
    trySync: remoteSmall && cacheSmall
      ? (move) => {
        const flag = downloadSmallSync(
          rt,
          store,
          remoteSmall,
          cacheSmall,
          move,
          progress,
          failures,
          absent,
        );
        if (flag === undefined) return false;
        finish(move, flag);
        return true;
      }
      : undefined,
  });
  // Before any `.dir` goes and before anything reads them, even after a failure or
  // an interruption: every object written so far is whole and checked.
  const unpublished = publishSmallWrites(cacheSmall);
  const stoppedBy = outcome.stoppedBy ?? unpublished;
  if (stoppedBy) return { transferred, failures, stoppedBy };
  objects.invalidate();

  for (const dir of objects.dirs.values()) {
    const key = dir.object.key;
    if (dir.staged === undefined || !objects.whole.has(key)) continue;
    const members = objects.membersOutcome(dir);
    if (members !== "ok") {
      objects.dirOutcomes.set(key, members);
      continue;
    }
    await rt.cache.store.put(key, dir.staged, { expect: expectOf(dir.object.oid, "md5") });
    transferred++;
  }
  progress.emit(true);
  return { transferred, failures };
}

/** Fetches one file into the cache unless it is there; returns the flag it ends with. */
async function downloadFile(
  rt: DataRuntime,
  store: Store,
  move: FileMove,
  progress: PhaseProgress,
  failures: Failures,
  absent: AbsentFolders,
): Promise<number> {
  const signal = rt.signal;
  const localPath = rt.cache.objectPath(move.oid, move.scheme);
  if (!absent.holds(localPath) && (await inCache(rt, move, localPath))) {
    progress.doneBytes += move.size ?? 0;
    return Flag.present;
  }
  let moved = 0;
  const download = { key: move.key, localPath };
  try {
    await rt.cache.beforeDownload(download);
    await store.get(move.key, localPath, {
      expect: expectOf(move.oid, move.scheme),
      ...(move.size !== undefined ? { size: move.size } : {}),
      ...(signal ? { signal } : {}),
      onBytes: (n) => {
        moved += n;
        progress.doneBytes += n;
        if (move.size === undefined) progress.totalBytes += n;
        progress.emit();
      },
    });
    await rt.cache.afterDownload(download);
    return Flag.done;
  } catch (error) {
    progress.doneBytes -= moved;
    if (move.size === undefined) progress.totalBytes -= moved;
    const e = error instanceof Error ? error : new Error(String(error));
    if (stopsQueue(e)) throw e;
    if (isNotFound(e)) return Flag.absent;
    failures.add(move.key, e);
    return Flag.failed;
  }
}

/**
 * {@link downloadFile} for a small object of a store on this machine into
 * the cache, without a promise: read whole, then checked and written 0444
 * by the cache's own synchronous write (visible once published). Undefined hands the
 * object to downloadFile (a cache file to re-hash, a large object, a
 * transient error).
 */
function downloadSmallSync(
  rt: DataRuntime,
  store: Store,
  remote: SmallObjects,
  cache: SmallObjects,
  move: FileMove,
  progress: PhaseProgress,
  failures: Failures,
  absent: AbsentFolders,
): number | undefined {
  const localPath = rt.cache.objectPath(move.oid, move.scheme);
  if (!absent.holds(localPath)) {
    const there = cache.existsSync(move.key);
    if (there === undefined) return undefined;
    if (there) {
      progress.doneBytes += move.size ?? 0;
      return Flag.present;
    }
  }
  try {
    const bytes = remote.readSync(move.key, move.size);
    if (bytes === undefined) return undefined;
    cache.writeSync(move.key, bytes, {
      expect: expectOf(move.oid, move.scheme),
      sourceLabel: `Object '${move.key}' in '${store.displayUrl}'`,
    });
    progress.doneBytes += bytes.length;
    if (move.size === undefined) progress.totalBytes += bytes.length;
    return Flag.done;
  } catch (error) {
    if (isTransient(error)) return undefined;
    const e = error instanceof Error ? error : new Error(String(error));
    if (stopsQueue(e)) throw e;
    if (isNotFound(e)) return Flag.absent;
    failures.add(move.key, e);
    return Flag.failed;
  }
}

/** The cache's existence rule (0444 trusted, else re-hashed), with one lstat in the common case. */
async function inCache(rt: DataRuntime, move: FileMove, localPath: string): Promise<boolean> {
  try {
    const info = lstatSync(localPath, { throwIfNoEntry: false });
    if (info === undefined) return false;
    if (info.isFile() && isProtectedMode(info.mode)) return true;
  } catch {
    return false;
  }
  return await rt.cache.has(move.oid, move.scheme, rt.signal);
}
