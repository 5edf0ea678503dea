import { relative } from "node:path";
import { collectOuts, type DvcObject, type DvcOut, objectsOfOuts } from "../dvc/mod.ts";
import type { DirManifestEntry } from "../dvc/dir_manifest.ts";
import { gitCommitTree } from "../git/tree_reader.ts";
import type { GitCache } from "../git/revision.ts";
import { type DvcConfig, type DvcRemote, loadDvcConfig } from "../project/dvc_config/mod.ts";
import type { Project } from "../project/project.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { expCommits } from "./exp_commits.ts";

/** Objects going to (or coming from) one DVC remote. */
export interface RemotePlan {
  readonly remote: DvcRemote;
  /** By key: files, `.dir` objects and their members. */
  readonly objects: Map<string, DvcObject>;
}

/** What the data half must move for a set of experiments. */
export interface DataPlan {
  /** By remote identity (name + url). */
  readonly remotes: Map<string, RemotePlan>;
  /** Experiment ref → the `<remote id>\0<key>` of every object it needs. */
  readonly needs: Map<string, Set<string>>;
  /** `.dir` objects whose manifest could not be read (members unknown), with their remote id. */
  readonly unreadableDirs: { remoteId: string; object: DvcObject; ref: string }[];
  readonly warnings: string[];
}

/** Reads a `.dir` manifest for an object going to/coming from `remote`. */
export type RemoteManifestReader = (
  remote: DvcRemote,
  oid: string,
  scheme: HashScheme,
) => Promise<Uint8Array | undefined>;

export interface PlanOptions {
  /** `-r NAME`: use this remote; outputs with another explicit `remote:` are skipped. */
  readonly remoteName?: string;
  readonly readManifest: RemoteManifestReader;
  readonly cache?: GitCache;
}

/**
 * Plans the objects of experiments (spec §3): each experiment's commits,
 * each commit's outputs (cached, pushable), each output's remote (its own
 * `remote:`, else `-r`, else `core.remote` of that commit's config merged
 * with the local, global and system files), and each directory's members.
 * Outputs with no remote anywhere are skipped silently, as DVC does.
 */
export async function planExperimentData(
  project: Project,
  exps: readonly { ref: string; sha: string; baseline: string }[],
  options: PlanOptions,
): Promise<DataPlan> {
  const cache = options.cache ?? {};
  const plan: DataPlan = { remotes: new Map(), needs: new Map(), unreadableDirs: [], warnings: [] };
  const subdir = relative(project.gitWorkTree, project.root).split("\\").join("/");
  const configs = new Map<string, Promise<DvcConfig>>();
  const manifests = new Map<string, DirManifestEntry[]>();
  const commitOuts = new Map<string, Promise<{ outs: DvcOut[]; config: DvcConfig }>>();

  const outsOf = (commit: string) => {
    let pending = commitOuts.get(commit);
    if (pending === undefined) {
      pending = (async () => {
        const tree = gitCommitTree(project.gitDir, commit, subdir, cache);
        const configBytes = await tree.readFile(".dvc/config");
        const text = configBytes === undefined ? "" : new TextDecoder().decode(configBytes);
        let config = configs.get(text);
        if (config === undefined) {
          config = loadDvcConfig({
            dvcDir: project.dvcDir,
            env: project.env,
            repoConfigText: text,
          });
          configs.set(text, config);
        }
        const collected = await collectOuts(tree);
        for (const warning of collected.warnings) {
          plan.warnings.push(`WARNING: failed to collect '${commit}', skipping: ${warning}`);
        }
        return { outs: collected.outs, config: await config };
      })();
      commitOuts.set(commit, pending);
    }
    return pending;
  };

  for (const exp of exps) {
    const needs = new Set<string>();
    plan.needs.set(exp.ref, needs);
    for (const commit of await expCommits(project.gitDir, exp.sha, exp.baseline, cache)) {
      const { outs, config } = await outsOf(commit);
      const groups = new Map<string, DvcOut[]>();
      for (const out of outs) {
        if (!out.cache || !out.push) continue;
        if (
          options.remoteName !== undefined && out.remote !== undefined &&
          out.remote !== options.remoteName
        ) {
          continue;
        }
        const name = out.remote ?? options.remoteName ?? config.coreRemote;
        if (name === undefined) continue;
        const list = groups.get(name) ?? [];
        list.push(out);
        groups.set(name, list);
      }
      for (const [name, groupOuts] of groups) {
        const remote = config.remote(name);
        const remoteId = `${remote.name}\0${remote.url}`;
        let remotePlan = plan.remotes.get(remoteId);
        if (remotePlan === undefined) {
          remotePlan = { remote, objects: new Map() };
          plan.remotes.set(remoteId, remotePlan);
        }
        const set = await objectsOfOuts(
          groupOuts,
          (oid, scheme) => options.readManifest(remote, oid, scheme),
          { push: true, manifests },
        );
        for (const object of set.objects) {
          remotePlan.objects.set(object.key, object);
          needs.add(`${remoteId}\0${object.key}`);
        }
        for (const object of set.missingManifests) {
          plan.unreadableDirs.push({ remoteId, object, ref: exp.ref });
        }
      }
    }
  }
  return plan;
}
