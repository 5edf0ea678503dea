import { join } from "node:path";
import { type LocalCache, openCache } from "../../cache/mod.ts";
import { type DvcRemote, loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { openStore } from "../../store/registry.ts";
import type { Store } from "../../store/types.ts";
import type { DataProgressSink } from "./progress.ts";

export interface DataOptions {
  /** `-r NAME`. */
  readonly remoteName?: string;
  /** `-j N`; default: the remote's `jobs`, else 4 × CPU count. */
  readonly jobs?: number;
  readonly onProgress?: DataProgressSink;
  readonly onDebug?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What the data verbs share for one command: the local cache and one store per remote. */
export interface DataRuntime extends DataOptions {
  readonly project: Project;
  readonly cache: LocalCache;
  /** The store of a remote (opened once), with the set of keys known to exist there. */
  storeFor(remote: DvcRemote): { id: string; store: Store; memo: Set<string> };
  jobsFor(remote: DvcRemote): number | undefined;
  close(): Promise<void>;
}

/**
 * Opens the workspace's cache (`cache.dir`, `cache.shared` from the
 * workspace config, never a commit's) and prepares lazily opened stores.
 * Objects are immutable: existence once known is remembered per store.
 */
export async function openDataRuntime(
  project: Project,
  options: DataOptions = {},
): Promise<DataRuntime> {
  const workspace = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: workspace.cacheDir ?? join(project.dvcDir, "cache"),
    shared: workspace.cacheShared,
  });
  const stores = new Map<string, { id: string; store: Store; memo: Set<string> }>();
  return {
    ...options,
    project,
    cache,
    storeFor(remote) {
      const id = `${remote.name}\0${remote.url}`;
      let entry = stores.get(id);
      if (entry === undefined) {
        const store = openStore(remote, {
          env: project.env,
          ...(options.onDebug ? { onDebug: options.onDebug } : {}),
        });
        entry = { id, store, memo: new Set() };
        stores.set(id, entry);
      }
      return entry;
    },
    jobsFor: (remote) => options.jobs ?? positiveInt(remote.options["jobs"]),
    async close() {
      await Promise.all([...stores.values()].map((entry) => entry.store.close()));
    },
  };
}

function positiveInt(text: string | undefined): number | undefined {
  const n = text === undefined ? NaN : Number.parseInt(text, 10);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
