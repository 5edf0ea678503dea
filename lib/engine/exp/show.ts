import { join, relative } from "node:path";
import type { ValuesFile } from "../../dvc/metrics_params.ts";
import { workspaceTree } from "../../dvc/workspace_tree.ts";
import type { ProjectTree } from "../../dvc/tree.ts";
import { localExpRefs } from "../../git/exp_refs.ts";
import type { GitCache } from "../../git/revision.ts";
import { gitCommitTree } from "../../git/tree_reader.ts";
import { attachObjectFetcher, ObjectFetchError } from "../../git/promisor.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { expandBaselines } from "./baselines.ts";
import { baselineLabeler } from "./baseline_labels.ts";
import { allCommits, commitTime } from "./show_revs.ts";
import { readRevValues } from "./show_values.ts";
import { fastCommitTree, openTreeReaders, storeCommitTime } from "../../git/fast_tree.ts";
import { promisorFor, transportFor } from "./transport_for.ts";

/** Params and metrics of one revision (`workspace`, a baseline or an experiment). */
export interface ExpShowRev {
  /** `"workspace"` or the full commit SHA. */
  readonly rev: string;
  /** Committer time in seconds since the epoch; `null` for the workspace. */
  readonly timestamp: number | null;
  /** Params files in DVC's collection order → values (or why they could not be read). */
  readonly params: Map<string, ValuesFile>;
  readonly metrics: Map<string, ValuesFile>;
  /** Problems that hid some values of this revision (shown as `!`). */
  readonly errors: string[];
}

/** One experiment under a baseline. */
export interface ExpShowExperiment extends ExpShowRev {
  readonly name: string;
  readonly ref: string;
}

/** One baseline commit with its local experiments, newest first. */
export interface ExpShowBaseline extends ExpShowRev {
  /** Branch or tag naming the baseline (spec §1.6), or `null` when it has none. */
  readonly name: string | null;
  readonly experiments: ExpShowExperiment[];
}

export interface ExpShowResult {
  readonly workspace: ExpShowRev;
  readonly baselines: ExpShowBaseline[];
}

export interface ExpShowOptions {
  /** Every commit of the repository as a baseline (`-A`). */
  readonly allCommits?: boolean;
  /** `--rev` (repeatable; default HEAD). */
  readonly revs?: readonly string[];
  /** `-n`: first-parent commits per `--rev` (default 1, negative: all). */
  readonly num?: number;
  /** Only params that are stage dependencies (`--param-deps`). */
  readonly paramDeps?: boolean;
}

/** How many revisions are read at once (trees are shared through the Git cache). */
const PARALLEL = 8;

/**
 * `exp show`: the workspace, the selected baselines (spec §1.5; `-A`: every
 * commit, newest first) and each baseline's local experiments (newest
 * first, as DVC), with the params and metrics read from each revision.
 * Reads the local repository only.
 */
export async function expShow(
  project: Project,
  options: ExpShowOptions = {},
): Promise<ExpShowResult> {
  // A partial clone fetches the params and metrics files it left out, in batches.
  const cache: GitCache = attachObjectFetcher(
    {},
    promisorFor(project, transportFor(project))?.fetch,
  );
  const exps = (await localExpRefs(project.gitDir)).filter((e) => e.sha !== undefined);
  const baselines = options.allCommits
    ? await allCommits(project.gitDir, [...new Set(exps.map((e) => e.baseline))], cache)
    : await expandBaselines(project.gitDir, options.revs ?? [], options.num ?? 1, cache);
  const label = await baselineLabeler(project.gitDir, cache);
  const config = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const valueOptions = {
    cacheDir: config.cacheDir ?? join(project.dvcDir, "cache"),
    ...(options.paramDeps ? { paramDeps: true } : {}),
  };
  const subdir = relative(project.gitWorkTree, project.root).split("\\").join("/");

  const readRev = async (rev: string, tree: ProjectTree, timestamp: number | null) => {
    try {
      return { rev, timestamp, ...(await readRevValues(tree, valueOptions)) };
    } catch (error) {
      // Failing to reach the promisor is the command's failure, not one revision's.
      if (error instanceof ObjectFetchError) throw error;
      // One unreadable revision (a damaged repository…) must not hide the others.
      const message = error instanceof Error ? error.message : String(error);
      return { rev, timestamp, params: new Map(), metrics: new Map(), errors: [message] };
    }
  };
  // Objects straight from the packs; isomorphic-git only for what that cannot read.
  const readers = openTreeReaders(project.gitDir);
  const readCommit = async (sha: string) =>
    readRev(
      sha,
      fastCommitTree(readers, sha, subdir, () => gitCommitTree(project.gitDir, sha, subdir, cache)),
      (await storeCommitTime(readers.store, sha)) ??
        (await commitTime(project.gitDir, sha, cache).catch(() => null)),
    );

  const workspace = readRev("workspace", workspaceTree(project.root), null);
  const shown = exps.filter((e) => baselines.includes(e.baseline));
  const shas = [...new Set([...baselines, ...shown.map((e) => e.sha!)])];
  const bySha = new Map<string, ExpShowRev>();
  try {
    await forEachLimited(shas, PARALLEL, async (sha) => {
      bySha.set(sha, await readCommit(sha));
    });
  } finally {
    await readers.store.close();
  }
  const rows = baselines.map((sha): ExpShowBaseline => {
    const experiments = shown.filter((e) => e.baseline === sha).map((exp) => ({
      ...bySha.get(exp.sha!)!,
      name: exp.name,
      ref: exp.ref,
    }));
    experiments.sort((a, b) =>
      (b.timestamp ?? 0) - (a.timestamp ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    );
    const name = label(sha);
    return { ...bySha.get(sha)!, name: name === sha.slice(0, 7) ? null : name, experiments };
  });
  return { workspace: await workspace, baselines: rows };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
