import { readFile } from "node:fs/promises";
import { collectOuts, objectsOfOuts } from "../../dvc/mod.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { missingOn } from "../../transfer/mod.ts";
import { transferRemoteOf, workspaceUnit } from "./plan.ts";
import { type DataOptions, openDataRuntime } from "./runtime.ts";

/** How one output compares between the local cache and its remote. */
export type CloudState = "new" | "deleted" | "missing";

export interface CloudStatus {
  /** Remote names involved (for the "in sync" message). */
  readonly remotes: string[];
  /** Outputs that are not in sync (directories end with `/`). */
  readonly changed: { path: string; state: CloudState; remote: string }[];
}

/**
 * `dxp status -c`: for each output of the work tree, whether its objects are
 * in the local cache and on its remote. `new`: only local (a push would
 * upload it); `deleted`: only on the remote (a fetch would bring it back);
 * `missing`: some object is in neither. A directory whose manifest is not
 * local is judged by its `.dir` object on the remote (present there means
 * complete there, spec §4.4).
 */
export async function cloudStatus(
  project: Project,
  options: DataOptions = {},
): Promise<CloudStatus> {
  const rt = await openDataRuntime(project, options);
  try {
    const config = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
    const { outs } = await collectOuts(workspaceUnit(project).tree);
    const remotes = new Set<string>();
    const changed: CloudStatus["changed"] = [];
    for (const out of outs) {
      const name = transferRemoteOf(out, options.remoteName, config);
      if (name === undefined) continue;
      const remote = config.remote(name);
      remotes.add(remote.name);
      const { store, memo } = rt.storeFor(remote);
      const set = await objectsOfOuts(
        [out],
        (oid, scheme) => readFile(rt.cache.objectPath(oid, scheme)).catch(() => undefined),
        { push: true },
      );
      const keys = set.objects.map((o) => o.key);
      const lacking = await missingOn(store, keys, {
        memo,
        ...(rt.signal ? { signal: rt.signal } : {}),
      });
      let local = set.missingManifests.length === 0;
      let neither = false;
      for (const object of set.objects) {
        if (await rt.cache.has(object.oid, object.scheme, rt.signal)) continue;
        local = false;
        if (lacking.has(object.key)) neither = true;
      }
      const path = out.isDir ? `${out.path}/` : out.path;
      const state: CloudState | undefined = neither
        ? "missing"
        : lacking.size > 0
        ? "new"
        : local
        ? undefined
        : "deleted";
      if (state !== undefined) changed.push({ path, state, remote: remote.name });
    }
    return { remotes: [...remotes], changed };
  } finally {
    await rt.close();
  }
}
