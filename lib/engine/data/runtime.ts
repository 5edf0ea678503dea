import { join } from "node:path";
import { type LocalCache, openCache } from "../../cache/mod.ts";
import type { DvcOut } from "../../dvc/mod.ts";
import { type DvcConfig, type DvcRemote, loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { openStore } from "../../store/registry.ts";
import type { Store } from "../../store/types.ts";
import { noRemoteError } from "./messages.ts";
import type { DataProgressSink } from "./progress.ts";

/**
 * The settings of one data command. This is the only object that carries
 * them: every path (push, fetch, pull, status -c, exp push/pull, the run
 * cache) reads `-r` and `-j` from the runtime built from it, never from a
 * copy, so a path cannot forget to pass them on.
 */
export interface DataOptions {
  /** `-r NAME` (lower-cased). */
  readonly remoteName?: string;
  /** `-j N`; default: the remote's `jobs`, else 4 × CPU count. */
  readonly jobs?: number;
  /** The command as DVC would name it (`push`, `exp push`…), for DVC's "no remote" hint. */
  readonly command?: string;
  readonly onProgress?: DataProgressSink;
  readonly onDebug?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The DVC remote an output's objects travel to or from, or why they do not. */
export type Route =
  | { readonly kind: "remote"; readonly name: string }
  /** `cache: false`, `push: false`, or pinned to another remote than `-r`. */
  | { readonly kind: "skip" }
  /** It would use the default remote, and there is none (no `-r`, no `core.remote`). */
  | { readonly kind: "no-remote" };

/** What the data verbs share for one command: the local cache and one store per remote. */
export interface DataRuntime extends DataOptions {
  readonly project: Project;
  readonly cache: LocalCache;
  /** The workspace's merged config (cache settings, `core.remote`, the run cache's remote). */
  readonly workspaceConfig: DvcConfig;
  /** Where `out`'s objects go for this command (spec §3.3, fixtures README §9.4). */
  routeOf(out: DvcOut, config: DvcConfig): Route;
  /** The remote a whole-repository transfer (the run cache) uses: `-r`, else `core.remote`. */
  defaultRemote(): DvcRemote;
  /** The store of a remote (opened once), with the set of keys known to exist there. */
  storeFor(remote: DvcRemote): Promise<{ id: string; store: Store; memo: Set<string> }>;
  jobsFor(remote: DvcRemote): number | undefined;
  /**
   * Told when an upload's objects start to move (their existence checked):
   * from then on the main thread mostly waits for copies, and the caller
   * may use it (exp push builds its Git pack then). Set per call, like `signal`.
   */
  readonly onMoving?: () => void;
  close(): Promise<void>;
}

/**
 * DVC's output filter (fixtures README §9.4): with `-r X`, an output pinned
 * to another remote (`remote: Y`) is left out; the others use X. Without
 * `-r`, an output uses its own `remote:`, else `core.remote` of the config
 * in force (the commit's, merged with the local files). `push: false`
 * outputs never travel, either way (README: neither pushed nor expected).
 */
export function transferRemoteOf(
  out: DvcOut,
  remoteName: string | undefined,
  config: DvcConfig,
): Route {
  if (!out.cache || !out.push) return { kind: "skip" };
  if (remoteName !== undefined && out.remote !== undefined && out.remote !== remoteName) {
    return { kind: "skip" };
  }
  const name = out.remote ?? remoteName ?? config.coreRemote;
  return name === undefined ? { kind: "no-remote" } : { kind: "remote", name };
}

/**
 * Opens the workspace's cache (`cache.dir`, `cache.shared` from the
 * workspace config, never a commit's) and prepares lazily opened stores.
 * An unknown `-r` is DVC's configuration error, raised here, before any
 * command moves anything. Objects are immutable: existence once known is
 * remembered per store.
 */
export async function openDataRuntime(
  project: Project,
  options: DataOptions = {},
): Promise<DataRuntime> {
  const workspace = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  if (options.remoteName !== undefined) workspace.remote(options.remoteName);
  const cache = openCache({
    dir: workspace.cacheDir ?? join(project.dvcDir, "cache"),
    shared: workspace.cacheShared,
  });
  const stores = new Map<string, Promise<{ id: string; store: Store; memo: Set<string> }>>();
  return {
    ...options,
    project,
    cache,
    workspaceConfig: workspace,
    routeOf: (out, config) => transferRemoteOf(out, options.remoteName, config),
    defaultRemote() {
      const name = options.remoteName ?? workspace.coreRemote;
      if (name === undefined) throw noRemoteError(project, workspace, options.command);
      return workspace.remote(name);
    },
    storeFor(remote) {
      const id = `${remote.name}\0${remote.url}`;
      let entry = stores.get(id);
      if (entry === undefined) {
        entry = openStore(remote, {
          env: project.env,
          ...(options.onDebug ? { onDebug: options.onDebug } : {}),
        }).then((store) => ({ id, store, memo: new Set<string>() }));
        stores.set(id, entry);
      }
      return entry;
    },
    jobsFor: (remote) => options.jobs ?? positiveInt(remote.options["jobs"]),
    async close() {
      // A store that failed to open has nothing to close.
      const opened = await Promise.all(
        [...stores.values()].map((entry) => entry.catch(() => undefined)),
      );
      await Promise.all(opened.map((entry) => entry?.store.close()));
    },
  };
}

function positiveInt(text: string | undefined): number | undefined {
  const n = text === undefined ? NaN : Number.parseInt(text, 10);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
