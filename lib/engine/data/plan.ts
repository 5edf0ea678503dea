import { relative } from "node:path";
import {
  collectOuts,
  type DvcObject,
  type DvcOut,
  objectsOfOuts,
  type ProjectTree,
  workspaceTree,
} from "../../dvc/mod.ts";
import type { DirManifestEntry } from "../../dvc/dir_manifest.ts";
import { gitCommitTree } from "../../git/tree_reader.ts";
import type { GitCache } from "../../git/revision.ts";
import { type DvcConfig, type DvcRemote, loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { expCommits } from "../exp/commits.ts";

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
  /** Group (experiment ref, revision, "workspace") → the `<remote id>\0<key>` of every object it needs. */
  readonly needs: Map<string, Set<string>>;
  /** `.dir` objects whose manifest could not be read (members unknown), with their remote id. */
  readonly unreadableDirs: { remoteId: string; object: DvcObject; group: string }[];
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
  /** Keep only outputs matching one of these (path, folder, stage file, `file:stage`, stage name). */
  readonly targets?: readonly string[];
}

/** One tree whose outputs are planned, and the group its objects count for. */
export interface PlanUnit {
  /** What the objects are needed for: an experiment ref, a revision SHA, "workspace". */
  readonly group: string;
  /** Cache key of the tree (a commit SHA, or "workspace"). */
  readonly id: string;
  readonly tree: ProjectTree;
  /** The repository config of that tree: committed `.dvc/config` text, or undefined for the work tree's files. */
  readonly configText: Promise<string | undefined>;
}

/** Units for experiments: every commit of each, grouped by the experiment's ref (spec §3.1). */
export async function experimentUnits(
  project: Project,
  exps: readonly { ref: string; sha: string; baseline: string }[],
  cache: GitCache = {},
): Promise<PlanUnit[]> {
  const units: PlanUnit[] = [];
  for (const exp of exps) {
    for (const commit of await expCommits(project.gitDir, exp.sha, exp.baseline, cache)) {
      units.push(commitUnit(project, exp.ref, commit, cache));
    }
  }
  return units;
}

/** A unit for one commit (its tree and its committed `.dvc/config`). */
export function commitUnit(
  project: Project,
  group: string,
  commit: string,
  cache: GitCache = {},
): PlanUnit {
  const subdir = relative(project.gitWorkTree, project.root).split("\\").join("/");
  const tree = gitCommitTree(project.gitDir, commit, subdir, cache);
  const configText = tree.readFile(".dvc/config").then((bytes) =>
    bytes === undefined ? "" : new TextDecoder().decode(bytes)
  );
  return { group, id: commit, tree, configText };
}

/** The work tree, with the workspace's own config files. */
export function workspaceUnit(project: Project): PlanUnit {
  return {
    group: "workspace",
    id: "workspace",
    tree: workspaceTree(project.root),
    configText: Promise.resolve(undefined),
  };
}

/**
 * The DVC remote an output's objects travel to or from (spec §3.3), or
 * undefined when they do not travel: `cache: false` and `push: false`
 * outputs; outputs with their own `remote:` other than `-r`; no remote
 * configured anywhere (DVC then silently moves nothing).
 */
export function transferRemoteOf(
  out: DvcOut,
  remoteName: string | undefined,
  config: DvcConfig,
): string | undefined {
  if (!out.cache || !out.push) return undefined;
  if (remoteName !== undefined && out.remote !== undefined && out.remote !== remoteName) {
    return undefined;
  }
  return out.remote ?? remoteName ?? config.coreRemote;
}

function matchesTarget(out: DvcOut, targets: readonly string[] | undefined): boolean {
  if (targets === undefined || targets.length === 0) return true;
  return targets.some((raw) => {
    const target = raw.replace(/\/+$/, "").replace(/^\.\//, "");
    return out.path === target || out.path.startsWith(`${target}/`) || out.stageFile === target ||
      (out.stage !== undefined &&
        (target === out.stage || target === `${out.stageFile}:${out.stage}`));
  });
}

/**
 * Plans the objects of a set of trees (spec §3): each tree's outputs
 * (cached, pushable), each output's remote (its own `remote:`, else `-r`,
 * else `core.remote` of that tree's config merged with the local, global and
 * system files), and each directory's members. Outputs with no remote
 * anywhere are skipped silently, as DVC does.
 */
export async function planData(
  project: Project,
  units: readonly PlanUnit[],
  options: PlanOptions,
): Promise<DataPlan> {
  const plan: DataPlan = { remotes: new Map(), needs: new Map(), unreadableDirs: [], warnings: [] };
  const configs = new Map<string, Promise<DvcConfig>>();
  const manifests = new Map<string, DirManifestEntry[]>();
  const treeOuts = new Map<string, Promise<{ outs: DvcOut[]; config: DvcConfig }>>();

  const configFor = async (unit: PlanUnit) => {
    const text = await unit.configText;
    const key = text ?? "\0workspace";
    let config = configs.get(key);
    if (config === undefined) {
      config = loadDvcConfig({
        dvcDir: project.dvcDir,
        env: project.env,
        ...(text !== undefined ? { repoConfigText: text } : {}),
      });
      configs.set(key, config);
    }
    return config;
  };
  const outsOf = (unit: PlanUnit) => {
    let pending = treeOuts.get(unit.id);
    if (pending === undefined) {
      pending = (async () => {
        const config = await configFor(unit);
        const collected = await collectOuts(unit.tree);
        for (const warning of collected.warnings) {
          plan.warnings.push(`WARNING: failed to collect '${unit.id}', skipping: ${warning}`);
        }
        return { outs: collected.outs, config };
      })();
      treeOuts.set(unit.id, pending);
    }
    return pending;
  };

  for (const unit of units) {
    let needs = plan.needs.get(unit.group);
    if (needs === undefined) {
      needs = new Set<string>();
      plan.needs.set(unit.group, needs);
    }
    const { outs, config } = await outsOf(unit);
    const groups = new Map<string, DvcOut[]>();
    for (const out of outs) {
      if (!matchesTarget(out, options.targets)) continue;
      const name = transferRemoteOf(out, options.remoteName, config);
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
        plan.unreadableDirs.push({ remoteId, object, group: unit.group });
      }
    }
  }
  return plan;
}
