import { existsSync } from "node:fs";
import { objectKey } from "../../core/object_key.ts";
import { openDirManifest } from "../../dvc/dir_manifest_file.ts";
import type { DvcRemote } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import { runWorkers } from "../../transfer/workers.ts";
import { markListed } from "./listing.ts";
import { noRemoteError } from "./messages.ts";
import { type FileMove, fileMoves, Flag, PhaseProgress } from "./moves.ts";
import { RemoteObjects } from "./objects.ts";
import { routeUnits, workspaceUnit } from "./plan.ts";
import { type DataOptions, type DataRuntime, openDataRuntime } from "./runtime.ts";

/** How one object compares between the local cache and its remote. */
export type CloudState = "new" | "deleted" | "missing";

export interface CloudStatus {
  /** The remote DVC names in "Cache and remote '<name>' are in sync." */
  readonly remote: string;
  /**
   * Objects that are not in sync, named as DVC names them: an output's path,
   * and for a directory also `<dir>/<file>` for each file in it.
   */
  readonly changed: { path: string; state: CloudState; remote: string }[];
}

/** Set on a file object the local cache holds. */
const LOCAL = 64;
/** Existence queries in flight at once. */
const QUERIES = 16;

/**
 * `dxp status -c`: for each object of the work tree's outputs, whether it is
 * in the local cache and on its remote. `new`: only local (a push would
 * upload it); `deleted`: only on the remote (a fetch would bring it back);
 * `missing`: in neither. Each output is compared with the remote it travels
 * to (`-r`, its own `remote:`, `core.remote`), so outputs pinned to another
 * remote are checked there (DVC leaves them out). A `.dir` object on the
 * remote vouches for its files (spec §4.4); a directory whose manifest is
 * not local is judged by its `.dir` object alone. Manifests are streamed
 * and objects kept as digests, so a million-file output costs tens of MB.
 */
export async function cloudStatus(
  project: Project,
  options: DataOptions = {},
): Promise<CloudStatus> {
  const rt = await openDataRuntime(project, { command: "status", ...options });
  try {
    // Strict reading, routing and the "no remote" error are the planner's.
    const [unit] = await routeUnits(rt, [workspaceUnit(project)], {});
    const changed: CloudStatus["changed"] = [];
    for (const [name, selected] of unit!.byRemote) {
      const remote = unit!.config.remote(name);
      const objects = new RemoteObjects();
      const dirState = new Map<string, { local: boolean; remote: boolean }>();
      for (const { out } of selected) {
        if (!out.isDir) {
          objects.addFile(out.hash, out.scheme);
          continue;
        }
        const key = objectKey(out.hash, out.scheme);
        if (objects.dirs.has(key)) continue;
        const path = rt.cache.objectPath(out.hash, out.scheme);
        const manifest = existsSync(path) ? openDirManifest(path, out.hash, out.scheme) : undefined;
        objects.dirs.set(key, {
          object: { oid: out.hash, scheme: out.scheme, key, isDir: true },
          manifest,
        });
        if (manifest !== undefined) {
          objects.whole.add(key);
          for (const batch of manifest.batches()) {
            for (const md5 of batch.md5) objects.addFile(md5, out.scheme);
          }
        }
      }
      await compare(rt, remote, objects, dirState);
      for (const { out } of selected) {
        const key = objectKey(out.hash, out.scheme);
        const own = out.isDir ? dirState.get(key)! : flagsState(objects, key);
        const ownState = stateOf(own);
        if (ownState !== undefined) changed.push({ path: out.path, state: ownState, remote: name });
        const manifest = out.isDir ? objects.dirs.get(key)?.manifest : undefined;
        if (manifest === undefined) continue;
        const set = objects.setOf(out.scheme);
        for (const batch of manifest.batches()) {
          for (let k = 0; k < batch.md5.length; k++) {
            const flags = set.flags(set.indexOf(batch.md5[k]!));
            const state = stateOf({
              local: (flags & LOCAL) !== 0,
              remote: (flags & Flag.present) !== 0,
            });
            if (state !== undefined) {
              changed.push({ path: `${out.path}/${batch.relpath[k]}`, state, remote: name });
            }
          }
        }
      }
    }
    const remote = rt.remoteName ?? rt.workspaceConfig.coreRemote ??
      [...unit!.byRemote.keys()].join("', '");
    // Nothing to compare with at all: DVC's error, not an empty "in sync".
    if (remote === "") throw noRemoteError(project, rt.workspaceConfig, "status");
    return { remote, changed };
  } finally {
    await rt.close();
  }
}

/** Flags every object with where it is: the cache (LOCAL), the remote (present). */
async function compare(
  rt: DataRuntime,
  remote: DvcRemote,
  objects: RemoteObjects,
  dirState: Map<string, { local: boolean; remote: boolean }>,
): Promise<void> {
  const { store, memo } = await rt.storeFor(remote);
  const signal = rt.signal;
  await forEachLimit([...objects.dirs.values()], QUERIES, signal, async (dir) => {
    const key = dir.object.key;
    const there = memo.has(key) || (await store.exists(key, signal));
    if (there) memo.add(key);
    const local = await rt.cache.has(dir.object.oid, dir.object.scheme, signal);
    dirState.set(key, { local, remote: there });
  });
  for (const dir of objects.dirs.values()) {
    if (!dirState.get(dir.object.key)!.remote || dir.manifest === undefined) continue;
    const set = objects.setOf(dir.object.scheme);
    for (const batch of dir.manifest.batches()) {
      for (const md5 of batch.md5) {
        const slot = set.indexOf(md5);
        if (slot >= 0) set.setFlag(slot, Flag.present);
      }
    }
  }
  const progress = new PhaseProgress(rt, "checking");
  const listed = store.canList ? await markListed(store, objects, rt, progress) : new Set<string>();
  const moves = fileMoves(objects, 0);
  const outcome = await runWorkers(() => {
    const r = moves.next();
    return r.done ? undefined : r.value;
  }, async (move) => {
    if (await inCache(rt, move)) move.set.setFlag(move.slot, LOCAL);
    if ((move.set.flags(move.slot) & Flag.present) !== 0) return;
    const folder = move.key.slice(0, move.key.lastIndexOf("/") + 1);
    if (listed.has(folder)) return;
    if (await store.exists(move.key, signal)) move.set.setFlag(move.slot, Flag.present);
  }, {
    jobs: QUERIES,
    signal,
    // The common case answered with one lstat per object (two with a local
    // remote's own look), without a promise each.
    trySync: (move) => {
      const local = rt.cache.store.small?.existsSync(move.key);
      if (local === undefined) return false;
      if ((move.set.flags(move.slot) & Flag.present) === 0) {
        const folder = move.key.slice(0, move.key.lastIndexOf("/") + 1);
        if (!listed.has(folder)) {
          const there = store.small?.existsSync(move.key);
          if (there === undefined) return false;
          if (there) move.set.setFlag(move.slot, Flag.present);
        }
      }
      if (local) move.set.setFlag(move.slot, LOCAL);
      return true;
    },
  });
  if (outcome.stoppedBy) throw outcome.stoppedBy;
}

/** The cache store's one look (missing, or a trusted 0444 file), else the object re-hashed. */
async function inCache(rt: DataRuntime, move: FileMove): Promise<boolean> {
  const known = rt.cache.store.small?.existsSync(move.key);
  return known ?? (await rt.cache.has(move.oid, move.scheme, rt.signal));
}

function flagsState(objects: RemoteObjects, key: string): { local: boolean; remote: boolean } {
  const flags = objects.flagsOf(key);
  return { local: (flags & LOCAL) !== 0, remote: (flags & Flag.present) !== 0 };
}

function stateOf(where: { local: boolean; remote: boolean }): CloudState | undefined {
  if (where.local) return where.remote ? undefined : "new";
  return where.remote ? "deleted" : "missing";
}
