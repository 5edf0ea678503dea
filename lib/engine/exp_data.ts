import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type LocalCache, openCache } from "../cache/mod.ts";
import { type DvcObject, objectKey } from "../dvc/mod.ts";
import { loadDvcConfig } from "../project/dvc_config/mod.ts";
import type { DvcRemote } from "../project/dvc_config/mod.ts";
import type { Project } from "../project/project.ts";
import { openStore } from "../store/registry.ts";
import type { Store } from "../store/types.ts";
import { missingOn, transfer, type TransferItem, type TransferReport } from "../transfer/mod.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { type DataPlan, planExperimentData } from "./data_plan.ts";
import type { DataProgressSink } from "./data_progress.ts";
import type { ExpDataReport, ExpDataSync, ExpSyncEntry } from "./exp_sync_types.ts";
import { missingWarning, transferWarnings } from "./data_messages.ts";

export interface ExpDataOptions {
  /** `-r NAME`. */
  readonly remoteName?: string;
  /** `-j N`; default: the remote's `jobs`, else 4 × CPU count. */
  readonly jobs?: number;
  readonly onProgress?: DataProgressSink;
  readonly onDebug?: (line: string) => void;
}

/**
 * The data half of `exp push`/`exp pull` over the project's DVC remotes and
 * local cache. Objects are content-addressed and immutable: existence once
 * known is remembered for the whole command.
 */
export async function createExpDataSync(
  project: Project,
  options: ExpDataOptions = {},
): Promise<ExpDataSync> {
  const workspace = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: workspace.cacheDir ?? join(project.dvcDir, "cache"),
    shared: workspace.cacheShared,
  });
  const stores = new Map<string, Store>();
  const known = new Map<string, Set<string>>();
  const storeFor = (remote: DvcRemote) => {
    const id = `${remote.name}\0${remote.url}`;
    let store = stores.get(id);
    if (store === undefined) {
      store = openStore(remote, {
        env: project.env,
        ...(options.onDebug ? { onDebug: options.onDebug } : {}),
      });
      stores.set(id, store);
      known.set(id, new Set());
    }
    return { id, store, memo: known.get(id)! };
  };
  const jobsFor = (remote: DvcRemote) => options.jobs ?? positiveInt(remote.options["jobs"]);

  return {
    push: (exps, signal) =>
      pushData(project, cache, exps, { ...options, storeFor, jobsFor, signal }),
    pull: (exps, signal) =>
      pullData(project, cache, exps, { ...options, storeFor, jobsFor, signal }),
  };
}

interface Runtime extends ExpDataOptions {
  storeFor(remote: DvcRemote): { id: string; store: Store; memo: Set<string> };
  jobsFor(remote: DvcRemote): number | undefined;
  signal: AbortSignal | undefined;
}

async function pushData(
  project: Project,
  cache: LocalCache,
  exps: readonly ExpSyncEntry[],
  rt: Runtime,
): Promise<ExpDataReport & { complete: Set<string> }> {
  rt.onProgress?.({
    phase: "collecting",
    doneObjects: 0,
    totalObjects: 0,
    doneBytes: 0,
    totalBytes: 0,
  });
  const plan = await planExperimentData(project, exps, {
    ...(rt.remoteName !== undefined ? { remoteName: rt.remoteName } : {}),
    readManifest: (_remote, oid, scheme) => readCached(cache, oid, scheme),
  });
  const absent = new Set<string>(); // "<remote id>\0<key>" unavailable everywhere
  const missingLocal: DvcObject[] = [];
  const failed = new Set<string>();
  let transferred = 0;
  const warnings = [...plan.warnings];
  for (const { remoteId, object } of plan.unreadableDirs) {
    absent.add(`${remoteId}\0${object.key}`);
    missingLocal.push(object);
  }

  for (const [remoteId, remotePlan] of plan.remotes) {
    const { store, memo } = rt.storeFor(remotePlan.remote);
    const keys = [...remotePlan.objects.keys()];
    const dirMembers = new Map<string, string[]>();
    for (const object of remotePlan.objects.values()) {
      if (object.members) dirMembers.set(object.key, object.members.map((m) => m.key));
    }
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
    for (const key of lacking) {
      const object = remotePlan.objects.get(key)!;
      const localPath = cache.objectPath(object.oid, object.scheme);
      const size = await fileSize(localPath);
      if (size === undefined || !(await cache.has(object.oid, object.scheme, rt.signal))) {
        absent.add(`${remoteId}\0${key}`);
        missingLocal.push(object);
        continue;
      }
      items.push({
        key,
        localPath,
        size,
        direction: "upload",
        expect: expectOf(object),
        ...(object.members ? { after: object.members.map((m) => m.key) } : {}),
      });
    }
    // A directory with a member missing locally must not get its `.dir` uploaded.
    const missingKeys = new Set(missingLocal.map((o) => o.key));
    const uploadable = items.filter((item) => !(item.after ?? []).some((k) => missingKeys.has(k)));
    for (const item of items) {
      if (!uploadable.includes(item)) absent.add(`${remoteId}\0${item.key}`);
    }
    const report = await runQueue(
      uploadable,
      store,
      rt.jobsFor(remotePlan.remote),
      "uploading",
      rt,
    );
    transferred += report.done.length;
    for (const item of report.done) memo.add(item.key);
    for (const { item } of [...report.failed, ...report.skipped]) {
      failed.add(`${remoteId}\0${item.key}`);
    }
    warnings.push(...transferWarnings(report, "upload", remotePlan.remote.name));
    if (report.stoppedBy && !report.interrupted) throw report.stoppedBy;
    if (report.interrupted) throw report.stoppedBy ?? new Error("interrupted");
  }

  if (missingLocal.length > 0) warnings.unshift(missingWarning(missingLocal));
  const complete = new Set<string>();
  for (const [ref, needs] of plan.needs) {
    if (![...needs].some((need) => absent.has(need) || failed.has(need))) complete.add(ref);
  }
  return {
    transferred,
    missing: uniqueMissing(missingLocal),
    failed: failed.size,
    warnings,
    complete,
  };
}

async function pullData(
  project: Project,
  cache: LocalCache,
  exps: readonly ExpSyncEntry[],
  rt: Runtime,
): Promise<ExpDataReport> {
  rt.onProgress?.({
    phase: "collecting",
    doneObjects: 0,
    totalObjects: 0,
    doneBytes: 0,
    totalBytes: 0,
  });
  await mkdir(join(project.dvcDir, "tmp"), { recursive: true });
  const staging = await mkdtemp(join(project.dvcDir, "tmp", "dxp-manifests-"));
  // `.dir` manifests not in the cache are fetched to a staging folder first
  // (to learn the members) and enter the cache only after all members did.
  const staged = new Map<string, string>();
  try {
    const plan = await planExperimentData(project, exps, {
      ...(rt.remoteName !== undefined ? { remoteName: rt.remoteName } : {}),
      readManifest: async (remote, oid, scheme) => {
        const local = await readCached(cache, oid, scheme);
        if (local !== undefined) return local;
        const { store } = rt.storeFor(remote);
        const path = join(staging, oid);
        try {
          await store.get(objectKey(oid, scheme), path, {
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
    return await downloadPlan(plan, cache, staged, rt);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function downloadPlan(
  plan: DataPlan,
  cache: LocalCache,
  staged: Map<string, string>,
  rt: Runtime,
): Promise<ExpDataReport> {
  const warnings = [...plan.warnings];
  const missingRemote: DvcObject[] = plan.unreadableDirs.map((d) => d.object);
  let transferred = 0;
  let failed = 0;
  for (const remotePlan of plan.remotes.values()) {
    const { store, memo } = rt.storeFor(remotePlan.remote);
    const wanted: DvcObject[] = [];
    for (const object of remotePlan.objects.values()) {
      if (!(await cache.has(object.oid, object.scheme, rt.signal))) wanted.push(object);
    }
    const fileKeys = wanted.filter((o) => !staged.has(`${o.scheme}:${o.oid}`)).map((o) => o.key);
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
      if (staged.has(`${object.scheme}:${object.oid}`)) continue;
      if (lacking.has(object.key)) {
        missingRemote.push(object);
        continue;
      }
      items.push({
        key: object.key,
        localPath: cache.objectPath(object.oid, object.scheme),
        size: object.size ?? 0,
        direction: "download",
        expect: expectOf(object),
      });
    }
    const report = await runQueue(
      items,
      store,
      rt.jobsFor(remotePlan.remote),
      "downloading",
      rt,
      cache,
    );
    transferred += report.done.length;
    failed += report.failed.length + report.skipped.length;
    warnings.push(...transferWarnings(report, "download", remotePlan.remote.name));
    if (report.interrupted) throw report.stoppedBy ?? new Error("interrupted");
    if (report.stoppedBy) throw report.stoppedBy;
    // Each staged `.dir` enters the cache once every member is there.
    const done = new Set(report.done.map((i) => i.key));
    for (const object of wanted) {
      const path = staged.get(`${object.scheme}:${object.oid}`);
      if (path === undefined || !object.members) continue;
      const membersOk = await allCached(cache, object.members, done);
      if (!membersOk) continue;
      await cache.store.put(object.key, path, { expect: expectOf(object) });
      transferred++;
    }
  }
  if (missingRemote.length > 0) warnings.unshift(missingWarning(missingRemote));
  return { transferred, missing: uniqueMissing(missingRemote), failed, warnings };
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
  items: TransferItem[],
  store: Store,
  jobs: number | undefined,
  phase: "uploading" | "downloading",
  rt: Runtime,
  cache?: LocalCache,
): Promise<TransferReport> {
  return transfer(items, {
    store,
    authGate: true,
    ...(jobs !== undefined ? { jobs } : {}),
    ...(rt.signal ? { signal: rt.signal } : {}),
    ...(cache
      ? {
        beforeDownload: (i) => cache.beforeDownload(i),
        afterDownload: (i) => cache.afterDownload(i),
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

function positiveInt(text: string | undefined): number | undefined {
  const n = text === undefined ? NaN : Number.parseInt(text, 10);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function uniqueMissing(objects: DvcObject[]): { hash: string; scheme: string }[] {
  const seen = new Map<string, { hash: string; scheme: string }>();
  for (const o of objects) seen.set(`${o.scheme}:${o.oid}`, { hash: o.oid, scheme: o.scheme });
  return [...seen.values()];
}
