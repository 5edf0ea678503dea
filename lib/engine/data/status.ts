import { readFile } from "node:fs/promises";
import { objectKey } from "../../core/object_key.ts";
import { dirOid, parseDirManifest } from "../../dvc/dir_manifest.ts";
import type { DvcOut } from "../../dvc/mod.ts";
import type { Project } from "../../project/project.ts";
import { missingOn } from "../../transfer/mod.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { noRemoteError } from "./messages.ts";
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

/** One object of an output, with the name `status -c` shows for it. */
interface Named {
  readonly name: string;
  readonly oid: string;
  readonly scheme: HashScheme;
  readonly key: string;
}

/**
 * `dxp status -c`: for each object of the work tree's outputs, whether it is
 * in the local cache and on its remote. `new`: only local (a push would
 * upload it); `deleted`: only on the remote (a fetch would bring it back);
 * `missing`: in neither. Each output is compared with the remote it travels
 * to (`-r`, its own `remote:`, `core.remote`), so outputs pinned to another
 * remote are checked there (DVC leaves them out). A `.dir` object on the
 * remote vouches for its files (spec §4.4); a directory whose manifest is
 * not local is judged by its `.dir` object alone.
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
      const { store, memo } = rt.storeFor(remote);
      const named: Named[] = [];
      const dirMembers = new Map<string, string[]>();
      for (const { out } of selected) {
        const objects = await namedObjects(rt, out);
        named.push(...objects);
        if (out.isDir) dirMembers.set(objects[0]!.key, objects.slice(1).map((o) => o.key));
      }
      const lacking = await missingOn(store, named.map((o) => o.key), {
        memo,
        dirMembers,
        ...(rt.signal ? { signal: rt.signal } : {}),
      });
      for (const object of named) {
        const local = await rt.cache.has(object.oid, object.scheme, rt.signal);
        const remoteHas = !lacking.has(object.key);
        const state: CloudState | undefined = local
          ? (remoteHas ? undefined : "new")
          : (remoteHas ? "deleted" : "missing");
        if (state !== undefined) changed.push({ path: object.name, state, remote: remote.name });
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

/** An output's objects with DVC's names: the output, then (directories) each file. */
async function namedObjects(rt: DataRuntime, out: DvcOut): Promise<Named[]> {
  const key = objectKey(out.hash, out.scheme);
  const own = { name: out.path, oid: out.hash, scheme: out.scheme, key };
  if (!out.isDir) return [own];
  const bytes = await readCached(rt, out.hash, out.scheme);
  if (bytes === undefined || dirOid(bytes) !== out.hash) return [own];
  return [
    own,
    ...parseDirManifest(bytes).map((entry) => ({
      name: `${out.path}/${entry.relpath}`,
      oid: entry.md5,
      scheme: out.scheme,
      key: objectKey(entry.md5, out.scheme),
    })),
  ];
}

function readCached(rt: DataRuntime, oid: string, scheme: HashScheme) {
  return readFile(rt.cache.objectPath(oid, scheme)).catch(() => undefined);
}
