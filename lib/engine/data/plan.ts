import { relative } from "node:path";
import { objectKey } from "../../core/object_key.ts";
import {
  collectOuts,
  type DvcObject,
  type DvcOut,
  type ProjectTree,
  workspaceTree,
} from "../../dvc/mod.ts";
import { openDirManifest } from "../../dvc/dir_manifest_file.ts";
import { StageFileError } from "../../dvc/out.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { gitCommitTree } from "../../git/tree_reader.ts";
import { fastCommitTree, type TreeReaders } from "../../git/fast_tree.ts";
import type { GitCache } from "../../git/revision.ts";
import { type DvcConfig, type DvcRemote, loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { expCommits } from "../exp/commits.ts";
import { noRemoteError } from "./messages.ts";
import { type PlannedDir, RemoteObjects } from "./objects.ts";
import type { DataRuntime } from "./runtime.ts";
import { selectTargets, type TargetedOut, type Targets, unknownTargetError } from "./targets.ts";

/** Objects going to (or coming from) one DVC remote. */
export interface RemotePlan {
  readonly remote: DvcRemote;
  readonly objects: RemoteObjects;
}

/** A directory only part of which was asked for, with the remote it travels with. */
export interface PartialDir {
  readonly remoteId: string;
  readonly dir: PlannedDir;
}

/** What the data half must move for a set of trees. */
export interface DataPlan {
  /** By remote identity (name + url). */
  readonly remotes: Map<string, RemotePlan>;
  /**
   * Group (experiment ref, revision, "workspace") → remote id → keys of the
   * objects it needs directly: single files, `.dir` objects (which stand
   * for their members), files of directories only part of which was asked for.
   */
  readonly needs: Map<string, Map<string, Set<string>>>;
  /** `.dir` objects whose manifest could not be read (members unknown), with their remote id. */
  readonly unreadableDirs: { remoteId: string; object: DvcObject; group: string }[];
  /**
   * `.dir` objects of directories only part of which was asked for (a target
   * inside them): not moved as objects themselves, but their manifest is what
   * says which files those are.
   */
  readonly partialDirs: PartialDir[];
  /**
   * Groups whose DVC files could not be read (only with `unreadable:
   * "record"`): what failed, naming the tree and the file. Nothing of such
   * a group is planned, so it can never count as complete.
   */
  readonly unreadable: Map<string, string>;
}

/** Where the manifest of a `.dir` object going to/coming from `remote` is, as a file. */
export interface ManifestLocation {
  readonly path: string;
  /** True when it was fetched into a staging folder (the cache does not have it). */
  readonly staged?: boolean;
}

/** Finds (or fetches) the manifest file of a `.dir` object; undefined when unavailable. */
export type RemoteManifestReader = (
  remote: DvcRemote,
  oid: string,
  scheme: HashScheme,
) => Promise<ManifestLocation | undefined>;

export interface PlanOptions {
  readonly readManifest: RemoteManifestReader;
  /** Keep only what these select (`push`/`fetch` targets); an unknown one is an error. */
  readonly targets?: Targets;
  /**
   * A tree whose `dvc.yaml`, `dvc.lock` or `.dvc` files cannot be read:
   * `"fail"` (default) stops the command before anything moves; `"record"`
   * leaves its group out and says why in `unreadable` (one experiment's
   * broken lock file must not block the others, nor be pushed without data).
   */
  readonly unreadable?: "fail" | "record";
}

/** One tree whose outputs are planned, and the group its objects count for. */
export interface PlanUnit {
  /** What the objects are needed for: an experiment ref, a revision SHA, "workspace". */
  readonly group: string;
  /** Cache key of the tree (a commit SHA, or "workspace"). */
  readonly id: string;
  /** The tree as messages name it: `workspace`, `commit 989d273`, `experiment 'exp-3' (commit d05afa8)`. */
  readonly label: string;
  readonly tree: ProjectTree;
  /** The repository config of that tree: committed `.dvc/config` text, or undefined for the work tree's files. */
  readonly configText: Promise<string | undefined>;
}

/**
 * Units for experiments: every commit of each, grouped by the experiment's
 * ref (spec §3.1). With `readers`, their trees are read from the packs
 * directly (see fastCommitTree): the caller closes them once planned.
 */
export async function experimentUnits(
  project: Project,
  exps: readonly { ref: string; sha: string; baseline: string; name: string }[],
  cache: GitCache = {},
  readers?: TreeReaders,
): Promise<PlanUnit[]> {
  const units: PlanUnit[] = [];
  for (const exp of exps) {
    for (const commit of await expCommits(project.gitDir, exp.sha, exp.baseline, cache)) {
      const label = `experiment '${exp.name}' (commit ${commit.slice(0, 7)})`;
      units.push(commitUnit(project, exp.ref, commit, label, cache, readers));
    }
  }
  return units;
}

/** A unit for one commit (its tree and its committed `.dvc/config`). */
export function commitUnit(
  project: Project,
  group: string,
  commit: string,
  label = `commit ${commit.slice(0, 7)}`,
  cache: GitCache = {},
  readers?: TreeReaders,
): PlanUnit {
  const subdir = relative(project.gitWorkTree, project.root).split("\\").join("/");
  const slow = () => gitCommitTree(project.gitDir, commit, subdir, cache);
  const tree = readers === undefined ? slow() : fastCommitTree(readers, commit, subdir, slow);
  const configText = tree.readFile(".dvc/config").then((bytes) =>
    bytes === undefined ? "" : new TextDecoder().decode(bytes)
  );
  return { group, id: commit, label, tree, configText };
}

/** The work tree, with the workspace's own config files. */
export function workspaceUnit(project: Project): PlanUnit {
  return {
    group: "workspace",
    id: "workspace",
    label: "workspace",
    tree: workspaceTree(project.root),
    configText: Promise.resolve(undefined),
  };
}

/** What a tree's DVC files say, with the config in force for it. */
export interface RoutedUnit {
  readonly unit: PlanUnit;
  readonly config: DvcConfig;
  /** Selected outputs by the name of the remote they travel to or from. */
  readonly byRemote: Map<string, TargetedOut[]>;
}

/** What planData's first step needs from the runtime. */
type Router = Pick<DataRuntime, "project" | "routeOf" | "workspaceConfig" | "command">;

/**
 * Plans the objects of a set of trees (spec §3) in two steps. First, with
 * no traffic at all: each tree's outputs (strictly read), the targets they
 * match, and each output's remote (`runtime.routeOf`); an unknown target, or
 * an output needing a default remote that does not exist, stops here.
 * Then each output's objects: files, `.dir` objects and their members (only
 * the files under the target for a path inside a directory output). Members
 * go into compact digest sets, streamed from the manifest files, so the plan
 * of a million-file directory stays small.
 */
export async function planData(
  rt: Router,
  units: readonly PlanUnit[],
  options: PlanOptions,
): Promise<DataPlan> {
  const plan: DataPlan = {
    remotes: new Map(),
    needs: new Map(),
    unreadableDirs: [],
    partialDirs: [],
    unreadable: new Map(),
  };
  const collected = await routeUnits(rt, units, options, plan.unreadable);
  // Paths inside directory outputs: known only once their manifest is read.
  const partsAsked = new Set<string>();
  const partsFound = new Set<string>();
  for (const { unit, config, byRemote } of collected) {
    let groupNeeds = plan.needs.get(unit.group);
    if (groupNeeds === undefined) {
      groupNeeds = new Map();
      plan.needs.set(unit.group, groupNeeds);
    }
    for (const [name, selected] of byRemote) {
      const remote = config.remote(name);
      const remoteId = `${remote.name}\0${remote.url}`;
      let remotePlan = plan.remotes.get(remoteId);
      if (remotePlan === undefined) {
        remotePlan = { remote, objects: new RemoteObjects() };
        plan.remotes.set(remoteId, remotePlan);
      }
      let needs = groupNeeds.get(remoteId);
      if (needs === undefined) {
        needs = new Set();
        groupNeeds.set(remoteId, needs);
      }
      const objects = remotePlan.objects;
      const dirOf = async (out: DvcOut): Promise<PlannedDir> => {
        const key = objectKey(out.hash, out.scheme);
        let dir = objects.dirs.get(key);
        if (dir === undefined) {
          dir = await loadDir(out, await options.readManifest(remote, out.hash, out.scheme));
          objects.dirs.set(key, dir);
        }
        return dir;
      };
      for (const { out, within } of selected) {
        if (!out.cache || !out.push) continue;
        if (!out.isDir) {
          if (within !== undefined) continue;
          objects.addFile(out.hash, out.scheme, out.size);
          needs.add(objectKey(out.hash, out.scheme));
          continue;
        }
        const dir = await dirOf(out);
        if (within === undefined) {
          needs.add(dir.object.key);
          if (dir.manifest === undefined) {
            plan.unreadableDirs.push({ remoteId, object: dir.object, group: unit.group });
          } else if (!objects.whole.has(dir.object.key)) {
            objects.whole.add(dir.object.key);
            for (const batch of dir.manifest.batches()) {
              for (const md5 of batch.md5) objects.addFile(md5, out.scheme);
            }
          }
          continue;
        }
        for (const path of within) partsAsked.add(path);
        if (dir.manifest === undefined) {
          for (const path of within) partsFound.add(path);
          plan.unreadableDirs.push({ remoteId, object: dir.object, group: unit.group });
          continue;
        }
        plan.partialDirs.push({ remoteId, dir });
        for (const entry of dir.manifest.entries()) {
          // A part: the entries are walked one by one (few targets are this big).
          const path = `${out.path}/${entry.relpath}`;
          let hit = false;
          for (const w of within) {
            if (path === w || path.startsWith(`${w}/`)) {
              partsFound.add(w);
              hit = true;
            }
          }
          if (!hit) continue;
          objects.addFile(entry.md5, out.scheme);
          needs.add(objectKey(entry.md5, out.scheme));
        }
      }
    }
  }
  for (const path of partsAsked) {
    if (!partsFound.has(path)) throw unknownTargetError(path, rt.project.root, rt.project.root);
  }
  return plan;
}

/** A `.dir` object of `out` with its manifest opened (checked) from where the reader found it. */
function loadDir(out: DvcOut, location: ManifestLocation | undefined): PlannedDir {
  const object: DvcObject = {
    oid: out.hash,
    scheme: out.scheme,
    key: objectKey(out.hash, out.scheme),
    isDir: true,
  };
  if (location === undefined) return { object, manifest: undefined };
  const manifest = openDirManifest(location.path, out.hash, out.scheme);
  return { object, manifest, ...(location.staged ? { staged: location.path } : {}) };
}

/**
 * Step one of planData, no traffic: each tree's outputs (strictly read),
 * the targets they match, and each output's remote. Throws for an unknown
 * target, for an output needing a default remote that does not exist, and
 * (unless `unreadable: "record"`, which fills `unreadable`) for DVC files
 * that cannot be read.
 */
export async function routeUnits(
  rt: Router,
  units: readonly PlanUnit[],
  options: Omit<PlanOptions, "readManifest">,
  unreadable: Map<string, string> = new Map(),
): Promise<RoutedUnit[]> {
  const configs = new Map<string, Promise<DvcConfig>>();
  const treeOuts = new Map<string, Promise<DvcOut[]>>();
  const configFor = async (unit: PlanUnit) => {
    const text = await unit.configText;
    const key = text ?? "\0workspace";
    let config = configs.get(key);
    if (config === undefined) {
      config = loadDvcConfig({
        dvcDir: rt.project.dvcDir,
        env: rt.project.env,
        ...(text !== undefined ? { repoConfigText: text } : {}),
      });
      configs.set(key, config);
    }
    return config;
  };
  const outsOf = (unit: PlanUnit) => {
    let pending = treeOuts.get(unit.id);
    if (pending === undefined) {
      pending = collectOuts(unit.tree, { strict: true }).then((result) => result.outs);
      treeOuts.set(unit.id, pending);
    }
    return pending;
  };

  const collected: RoutedUnit[] = [];
  const matchedTargets = new Set<string>();
  let needsDefault = false;
  for (const unit of units) {
    if (unreadable.has(unit.group)) continue;
    let outs: DvcOut[];
    try {
      outs = await outsOf(unit);
    } catch (error) {
      if (!(error instanceof StageFileError)) throw error;
      const what = unit.label === "workspace" ? error.message : `${unit.label}: ${error.message}`;
      if (options.unreadable !== "record") {
        throw new DxpError("UnreadableMetadata", what, ExitCode.failure, { cause: error });
      }
      unreadable.set(unit.group, what);
      continue;
    }
    const config = await configFor(unit);
    let selected: TargetedOut[] = outs.map((out) => ({ out }));
    if (options.targets !== undefined && options.targets.paths.length > 0) {
      const result = selectTargets(outs, options.targets, rt.project.root);
      selected = result.selected;
      for (const target of options.targets.paths) {
        if (!result.unmatched.includes(target)) matchedTargets.add(target);
      }
    }
    const byRemote = new Map<string, TargetedOut[]>();
    for (const sel of selected) {
      const route = rt.routeOf(sel.out, config);
      if (route.kind === "no-remote") needsDefault = true;
      if (route.kind !== "remote") continue;
      const list = byRemote.get(route.name) ?? [];
      list.push(sel);
      byRemote.set(route.name, list);
    }
    collected.push({ unit, config, byRemote });
  }
  for (const target of options.targets?.paths ?? []) {
    if (!matchedTargets.has(target)) {
      throw unknownTargetError(target, options.targets!.cwd, rt.project.root);
    }
  }
  if (needsDefault) throw noRemoteError(rt.project, rt.workspaceConfig, rt.command);
  return collected.filter((c) => !unreadable.has(c.unit.group));
}
