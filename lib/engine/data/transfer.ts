import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { LocalCache } from "../../cache/mod.ts";
import { type DvcObject, objectKey } from "../../dvc/mod.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { downloadRemote } from "./download.ts";
import { missingWarning, transferWarnings } from "./messages.ts";
import { Flag, type RemoteObjects } from "./objects.ts";
import {
  type DataPlan,
  type ManifestLocation,
  planData,
  type PlanOptions,
  type PlanUnit,
} from "./plan.ts";
import type { DataRuntime } from "./runtime.ts";
import { uploadRemote } from "./upload.ts";

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

/** Plans with manifests from the local cache and uploads what each remote lacks. */
export async function uploadUnits(
  rt: DataRuntime,
  units: readonly PlanUnit[],
  options: Plain = {},
): Promise<PlanTransferReport> {
  announceCollecting(rt);
  const plan = await planData(rt, units, {
    ...options,
    readManifest: (_remote, oid, scheme) => Promise.resolve(cachedManifest(rt.cache, oid, scheme)),
  });
  return await moveAll(rt, plan, "upload");
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
  try {
    const plan = await planData(rt, units, {
      ...options,
      readManifest: async (remote, oid, scheme) => {
        const local = cachedManifest(rt.cache, oid, scheme);
        if (local !== undefined) return local;
        const path = join(staging, `${scheme}-${oid}`);
        try {
          await (await rt.storeFor(remote)).store.get(objectKey(oid, scheme), path, {
            expect: { hash: oid.slice(0, 32), scheme: "md5" },
            ...(rt.signal ? { signal: rt.signal } : {}),
          });
        } catch {
          return undefined;
        }
        return { path, staged: true };
      },
    });
    const report = await moveAll(rt, plan, "download");
    // A part of a directory was fetched: its manifest comes along (as DVC's
    // granular fetch does), so a checkout of that part knows its files. It is
    // not counted: it is not one of the files asked for.
    for (const { dir } of plan.partialDirs) {
      if (dir.staged === undefined) continue;
      if (await rt.cache.has(dir.object.oid, dir.object.scheme, rt.signal)) continue;
      await rt.cache.store.put(dir.object.key, dir.staged, {
        expect: { hash: dir.object.oid.slice(0, 32), scheme: "md5" },
      });
    }
    return report;
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

/** Moves every remote's objects, then says which groups are complete. */
async function moveAll(
  rt: DataRuntime,
  plan: DataPlan,
  direction: "upload" | "download",
): Promise<PlanTransferReport> {
  const warnings = [...plan.unreadable.values()].map((what) => `ERROR: ${what}`);
  const missing: DvcObject[] = plan.unreadableDirs.map((d) => d.object);
  let transferred = 0;
  let failed = 0;
  for (const remotePlan of plan.remotes.values()) {
    const moved = direction === "upload"
      ? await uploadRemote(rt, remotePlan)
      : await downloadRemote(rt, remotePlan);
    transferred += moved.transferred;
    failed += moved.failures.total + [...remotePlan.objects.dirOutcomes.values()]
      .filter((o) => o === "failed").length;
    warnings.push(...transferWarnings(moved.failures, direction, remotePlan.remote.name));
    if (moved.stoppedBy) throw moved.stoppedBy;
    missing.push(...remotePlan.objects.absentObjects());
  }
  if (missing.length > 0) warnings.unshift(missingWarning(missing));
  return { transferred, missing, failed, warnings, ...outcome(plan) };
}

/** Which groups are complete, and why the others are not (missing wins: a rerun cannot fix it). */
function outcome(plan: DataPlan): Pick<PlanTransferReport, "complete" | "incomplete"> {
  const complete = new Set<string>();
  const incomplete = new Map<string, GroupProblem>();
  for (const [group, detail] of plan.unreadable) {
    incomplete.set(group, { kind: "unreadable", detail });
  }
  for (const [group, byRemote] of plan.needs) {
    let problem: "missing" | "failed" | undefined;
    for (const [remoteId, keys] of byRemote) {
      const objects = plan.remotes.get(remoteId)?.objects;
      if (objects === undefined) continue;
      for (const key of keys) {
        const state = key.endsWith(".dir") ? objects.dirOutcome(key) : fileOutcome(objects, key);
        if (state === "absent") problem = "missing";
        else if (state === "failed") problem ??= "failed";
        if (problem === "missing") break;
      }
      if (problem === "missing") break;
    }
    if (problem === undefined) complete.add(group);
    else incomplete.set(group, { kind: problem });
  }
  return { complete, incomplete };
}

function fileOutcome(objects: RemoteObjects, key: string): "ok" | "absent" | "failed" {
  const flags = objects.flagsOf(key);
  if (flags & Flag.absent) return "absent";
  if (flags & Flag.failed) return "failed";
  return "ok";
}

/** Where the cache keeps a `.dir` manifest, when it has it. */
function cachedManifest(
  cache: LocalCache,
  oid: string,
  scheme: HashScheme,
): ManifestLocation | undefined {
  const path = cache.objectPath(oid, scheme);
  return existsSync(path) ? { path } : undefined;
}
