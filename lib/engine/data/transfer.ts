import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { LocalCache } from "../../cache/mod.ts";
import { type DvcObject, objectKey } from "../../dvc/mod.ts";
import type { Store } from "../../store/types.ts";
import { missingOn, transfer, type TransferItem, type TransferReport } from "../../transfer/mod.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { missingWarning, transferWarnings } from "./messages.ts";
import { type DataPlan, planData, type PlanOptions, type PlanUnit } from "./plan.ts";
import type { DataRuntime } from "./runtime.ts";

/**
 * Why a group (an experiment ref, a revision) is not complete: some object is
 * missing (from the local cache on upload, from the remote on download) or
 * its manifest is; some transfer failed; its DVC files cannot be read.
 * Only `failed` can be finished by running the command again.
 */
export type GroupProblem =
  | { readonly kind: "missing" }
  | { readonly kind: "failed" }
  | { readonly kind: "unreadable"; readonly detail: string };

/** Outcome of moving a plan's objects. */
export interface PlanTransferReport {
  /** Objects moved. */
  readonly transferred: number;
  /** Objects unavailable (locally for uploads, on the remote for downloads). */
  readonly missing: DvcObject[];
  /** Objects that failed after retries (or were skipped because of one). */
  readonly failed: number;
  readonly warnings: string[];
  /** Groups (experiment refs, revisions) whose every object is now where it should be. */
  readonly complete: Set<string>;
  /** The other groups, and why. */
  readonly incomplete: Map<string, GroupProblem>;
}

type Plain = Omit<PlanOptions, "readManifest">;

/** Local stat/verify calls in flight at once while preparing uploads. */
const LOCAL_CHECKS = 32;

/** Plans with manifests from the local cache and uploads what each remote lacks. */
export async function uploadUnits(
  rt: DataRuntime,
  units: readonly PlanUnit[],
  options: Plain = {},
): Promise<PlanTransferReport> {
  announceCollecting(rt);
  const plan = await planData(rt, units, {
    ...options,
    readManifest: (_remote, oid, scheme) => readCached(rt.cache, oid, scheme),
  });
  return uploadPlan(rt, plan);
}

/**
 * Plans (fetching `.dir` manifests the cache lacks into a staging folder)
 * and downloads what the cache lacks; a staged `.dir` enters the cache only
 * after all its members did (or, for a target inside it, after the files
 * asked for), never as a half-written file.
 */
export async function downloadUnits(
  rt: DataRuntime,
  units: readonly PlanUnit[],
  options: Plain = {},
): Promise<PlanTransferReport> {
  announceCollecting(rt);
  await mkdir(join(rt.project.dvcDir, "tmp"), { recursive: true });
  const staging = await mkdtemp(join(rt.project.dvcDir, "tmp", "dxp-manifests-"));
  const staged = new Map<string, string>();
  try {
    const plan = await planData(rt, units, {
      ...options,
      readManifest: async (remote, oid, scheme) => {
        const local = await readCached(rt.cache, oid, scheme);
        if (local !== undefined) return local;
        const path = join(staging, `${scheme}-${oid}`);
        try {
          await rt.storeFor(remote).store.get(objectKey(oid, scheme), path, {
            expect: { hash: oid.slice(0, 32), scheme: "md5" },
            ...(rt.signal ? { signal: rt.signal } : {}),
          });
        } catch {
          return undefined;
        }
        staged.set(`${scheme}:${oid}`, path);
        return await readFile(path);
      },
    });
    return await downloadPlan(rt, plan, staged);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Tells the progress display that planning started (it can take a while on big trees). */
function announceCollecting(rt: DataRuntime): void {
  rt.onProgress?.({
    phase: "collecting",
    doneObjects: 0,
    totalObjects: 0,
    doneBytes: 0,
    totalBytes: 0,
  });
}

async function uploadPlan(rt: DataRuntime, plan: DataPlan): Promise<PlanTransferReport> {
  const absent = new Set<string>(); // "<remote id>\0<key>" that could not be put on the remote
  const missing: DvcObject[] = [];
  const failed = new Set<string>();
  let transferred = 0;
  const warnings = unreadableWarnings(plan);
  for (const { remoteId, object } of plan.unreadableDirs) {
    absent.add(`${remoteId}\0${object.key}`);
    missing.push(object);
  }
  for (const [remoteId, remotePlan] of plan.remotes) {
    const { store, memo } = rt.storeFor(remotePlan.remote);
    const dirMembers = new Map<string, string[]>();
    for (const object of remotePlan.objects.values()) {
      if (object.members) dirMembers.set(object.key, object.members.map((m) => m.key));
    }
    const keys = [...remotePlan.objects.keys()];
    rt.onProgress?.({
      phase: "checking",
      doneObjects: 0,
      totalObjects: keys.length,
      doneBytes: 0,
      totalBytes: 0,
    });
    const lacking = await missingOn(store, keys, {
      memo,
      dirMembers,
      ...(rt.signal ? { signal: rt.signal } : {}),
    });
    const items: TransferItem[] = [];
    const missingHere = new Set<string>();
    // Local checks run in parallel: one at a time they cost more than the
    // copies themselves for thousands of small files.
    await forEachLimit([...lacking], LOCAL_CHECKS, rt.signal, async (key) => {
      const object = remotePlan.objects.get(key)!;
      const localPath = rt.cache.objectPath(object.oid, object.scheme);
      const size = await fileSize(localPath);
      if (size === undefined || !(await rt.cache.has(object.oid, object.scheme, rt.signal))) {
        missingHere.add(key);
        missing.push(object);
        return;
      }
      items.push({
        key,
        localPath,
        size,
        direction: "upload",
        expect: expectOf(object),
        ...(object.members ? { after: object.members.map((m) => m.key) } : {}),
      });
    });
    // A directory with a member missing locally must not get its `.dir` uploaded.
    const uploadable = items.filter((item) => !(item.after ?? []).some((k) => missingHere.has(k)));
    for (const key of missingHere) absent.add(`${remoteId}\0${key}`);
    for (const item of items) {
      if (!uploadable.includes(item)) absent.add(`${remoteId}\0${item.key}`);
    }
    const report = await runQueue(
      rt,
      uploadable,
      store,
      rt.jobsFor(remotePlan.remote),
      "uploading",
    );
    transferred += report.done.length;
    for (const item of report.done) memo.add(item.key);
    for (const { item } of [...report.failed, ...report.skipped]) {
      failed.add(`${remoteId}\0${item.key}`);
    }
    warnings.push(...transferWarnings(report, "upload", remotePlan.remote.name));
    throwIfStopped(report);
  }
  if (missing.length > 0) warnings.unshift(missingWarning(missing));
  return { transferred, missing, failed: failed.size, warnings, ...outcome(plan, absent, failed) };
}

async function downloadPlan(
  rt: DataRuntime,
  plan: DataPlan,
  staged: Map<string, string>,
): Promise<PlanTransferReport> {
  const warnings = unreadableWarnings(plan);
  const missing: DvcObject[] = plan.unreadableDirs.map((d) => d.object);
  const absent = new Set(plan.unreadableDirs.map((d) => `${d.remoteId}\0${d.object.key}`));
  const failedKeys = new Set<string>();
  let transferred = 0;
  for (const [remoteId, remotePlan] of plan.remotes) {
    const { store, memo } = rt.storeFor(remotePlan.remote);
    const wanted: DvcObject[] = [];
    await forEachLimit(
      [...remotePlan.objects.values()],
      LOCAL_CHECKS,
      rt.signal,
      async (object) => {
        if (!(await rt.cache.has(object.oid, object.scheme, rt.signal))) wanted.push(object);
      },
    );
    const isStaged = (o: DvcObject) => staged.has(`${o.scheme}:${o.oid}`);
    const fileKeys = wanted.filter((o) => !isStaged(o)).map((o) => o.key);
    rt.onProgress?.({
      phase: "checking",
      doneObjects: 0,
      totalObjects: fileKeys.length,
      doneBytes: 0,
      totalBytes: 0,
    });
    const lacking = await missingOn(store, fileKeys, {
      memo,
      ...(rt.signal ? { signal: rt.signal } : {}),
    });
    const items: TransferItem[] = [];
    for (const object of wanted) {
      if (isStaged(object)) continue;
      if (lacking.has(object.key)) {
        missing.push(object);
        absent.add(`${remoteId}\0${object.key}`);
        continue;
      }
      items.push({
        key: object.key,
        localPath: rt.cache.objectPath(object.oid, object.scheme),
        size: object.size ?? 0,
        direction: "download",
        expect: expectOf(object),
      });
    }
    const report = await runQueue(rt, items, store, rt.jobsFor(remotePlan.remote), "downloading");
    transferred += report.done.length;
    for (const { item } of [...report.failed, ...report.skipped]) {
      failedKeys.add(`${remoteId}\0${item.key}`);
    }
    warnings.push(...transferWarnings(report, "download", remotePlan.remote.name));
    throwIfStopped(report);
    const done = new Set(report.done.map((i) => i.key));
    for (const object of wanted) {
      const path = staged.get(`${object.scheme}:${object.oid}`);
      if (path === undefined) continue;
      if (!object.members || !(await allCached(rt.cache, object.members, done))) {
        absent.add(`${remoteId}\0${object.key}`);
        continue;
      }
      await rt.cache.store.put(object.key, path, { expect: expectOf(object) });
      transferred++;
    }
  }
  // A part of a directory was fetched: its manifest comes along (as DVC's
  // granular fetch does), so a checkout of that part knows its files. It is
  // not counted: it is not one of the files asked for.
  for (const dir of plan.partialDirs) {
    const path = staged.get(`${dir.scheme}:${dir.oid}`);
    if (path === undefined || (await rt.cache.has(dir.oid, dir.scheme, rt.signal))) continue;
    await rt.cache.store.put(dir.key, path, { expect: expectOf(dir) });
  }
  if (missing.length > 0) warnings.unshift(missingWarning(missing));
  return {
    transferred,
    missing,
    failed: failedKeys.size,
    warnings,
    ...outcome(plan, absent, failedKeys),
  };
}

/** One error line per tree whose DVC files could not be read (naming it and the file). */
function unreadableWarnings(plan: DataPlan): string[] {
  return [...plan.unreadable.values()].map((what) => `ERROR: ${what}`);
}

/** Which groups are complete, and why the others are not (missing wins: a rerun cannot fix it). */
function outcome(
  plan: DataPlan,
  absent: Set<string>,
  failed: Set<string>,
): Pick<PlanTransferReport, "complete" | "incomplete"> {
  const complete = new Set<string>();
  const incomplete = new Map<string, GroupProblem>();
  for (const [group, detail] of plan.unreadable) {
    incomplete.set(group, { kind: "unreadable", detail });
  }
  for (const [group, needs] of plan.needs) {
    if ([...needs].some((need) => absent.has(need))) incomplete.set(group, { kind: "missing" });
    else if ([...needs].some((need) => failed.has(need))) incomplete.set(group, { kind: "failed" });
    else complete.add(group);
  }
  return { complete, incomplete };
}

function throwIfStopped(report: TransferReport): void {
  if (report.stoppedBy) throw report.stoppedBy;
  if (report.interrupted) throw new Error("interrupted");
}

async function allCached(
  cache: LocalCache,
  members: DvcObject[],
  justDone: Set<string>,
): Promise<boolean> {
  for (const member of members) {
    if (justDone.has(member.key)) continue;
    if (!(await cache.has(member.oid, member.scheme))) return false;
  }
  return true;
}

function runQueue(
  rt: DataRuntime,
  items: TransferItem[],
  store: Store,
  jobs: number | undefined,
  phase: "uploading" | "downloading",
): Promise<TransferReport> {
  const cache = rt.cache;
  return transfer(items, {
    store,
    authGate: true,
    ...(jobs !== undefined ? { jobs } : {}),
    ...(rt.signal ? { signal: rt.signal } : {}),
    ...(phase === "downloading"
      ? {
        beforeDownload: (i: TransferItem) => cache.beforeDownload(i),
        afterDownload: (i: TransferItem) => cache.afterDownload(i),
      }
      : {}),
    onProgress: (p) =>
      rt.onProgress?.({
        phase,
        doneObjects: p.doneObjects,
        totalObjects: p.totalObjects,
        doneBytes: p.doneBytes,
        totalBytes: p.totalBytes,
      }),
  });
}

/** `.dir` manifests hash raw (they never hold CRLF); files in their output's scheme. */
function expectOf(object: DvcObject): { hash: string; scheme: HashScheme } {
  return object.isDir
    ? { hash: object.oid.slice(0, 32), scheme: "md5" }
    : { hash: object.oid, scheme: object.scheme };
}

async function readCached(
  cache: LocalCache,
  oid: string,
  scheme: HashScheme,
): Promise<Uint8Array | undefined> {
  try {
    return await readFile(cache.objectPath(oid, scheme));
  } catch {
    return undefined;
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}
