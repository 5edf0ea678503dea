import { lstat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { openCache } from "../../cache/cache.ts";
import { createLinker } from "../../cache/link.ts";
import { parseLinkTypes } from "../../cache/link_types.ts";
import { collectOuts } from "../../dvc/collect_outs.ts";
import { workspaceTree } from "../../dvc/workspace_tree.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { compareCodePoints } from "../../dvc/dir_manifest.ts";
import { applyPlans } from "./apply.ts";
import { type OutPlan, planOut } from "./plan.ts";
import { selectOuts } from "./targets.ts";
import type { CheckoutOptions, CheckoutResult } from "./types.ts";
import { removeUnusedOuts } from "./unused.ts";
import { assertWorkspacePath, WorkspaceGuard } from "../workspace/guard.ts";
import { WorkspaceState } from "../workspace/state.ts";

export type { CheckoutOptions, CheckoutResult } from "./types.ts";

/**
 * `dvc checkout`: materialises the outputs declared by the workspace's
 * stage files (`dvc.lock`, `*.dvc`; `cache: false` outputs are Git's) from
 * the local cache with the `cache.type` link types. A stage file that
 * cannot be read stops it with a `StageFileError` before anything is
 * touched. Nothing is written
 * before the whole plan is known: a workspace file that would be removed or
 * overwritten while its content is not in the cache stops the checkout with
 * DVC's "unsaved files" error unless `force`. Outputs whose objects are
 * missing are reported in `failed` (the others are still checked out);
 * without targets, outputs a previous checkout wrote that no stage declares
 * any more are removed. Restartable: files are written to temporary names
 * and renamed; a rerun after an interruption finishes the job.
 *
 * @example
 * const result = await checkout(openProject(".", process.env), { force: true });
 * const lines = result.added.map((path) => `A       ${path}`);
 */
export async function checkout(
  project: Project,
  options: CheckoutOptions = {},
): Promise<CheckoutResult> {
  const config = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: config.cacheDir ?? join(project.dvcDir, "cache"),
    shared: config.cacheShared,
  });
  const linker = createLinker(
    parseLinkTypes(config.cacheType),
    options.linkFs ? { fs: options.linkFs } : {},
  );
  const cwd = options.cwd ?? project.root;
  const tree = options.revTree ?? workspaceTree(project.root);
  // Strict: an output hidden by a stage file that cannot be read is not
  // "no longer tracked" — stop before anything in the workspace changes.
  const { outs, declared } = await collectOuts(tree, { strict: true });
  const cached = outs.filter((out) => out.cache);
  for (const out of cached) assertWorkspacePath(out.path, `output of '${out.stageFile}'`);
  const selected = await selectOuts(cached, options.targets, {
    root: project.root,
    cwd,
    stageFileExists: async (path) => (await tree.readFile(path)) !== undefined,
  });

  const guard = new WorkspaceGuard(project.root);
  const state = await WorkspaceState.load(project.dvcDir);
  const context = {
    cache,
    guard,
    state,
    cacheRoot: cache.paths.root,
    force: options.force ?? false,
    relink: options.relink ?? false,
    skipUnpushable: options.skipUnpushable ?? false,
    signal: options.signal,
  };
  const plans: OutPlan[] = [];
  for (const sel of selected) plans.push(await planOut(sel, context));
  // Several targets inside one directory output make several plans for it: report it once.
  const rank: OutPlan["status"][] = ["failed", "skipped", "modified", "added", "unchanged"];
  const statusOf = new Map<string, OutPlan["status"]>();
  for (const plan of plans) {
    const before = statusOf.get(plan.out.path);
    if (before === undefined || rank.indexOf(plan.status) < rank.indexOf(before)) {
      statusOf.set(plan.out.path, plan.status);
    }
  }

  const blocked = plans.flatMap((p) => p.blocked);
  if (blocked.length > 0) {
    // Hashes learnt while planning are worth keeping even though nothing is written.
    await state.save().catch(() => undefined);
    throw new DxpError(
      "UnsavedFiles",
      "Can't remove the following unsaved files without confirmation. Use `--force` to force.\n" +
        blocked.map((p) => display(project.root, cwd, p)).join("\n"),
      ExitCode.failure,
      { data: { paths: blocked } },
    );
  }

  let linked: CheckoutResult["linked"];
  let helperFiles = 0;
  let deleted: string[] = [];
  try {
    const applied = await applyPlans(plans, {
      ...context,
      linker,
      jobs: options.jobs ?? 16,
      onProgress: options.onProgress,
    });
    linked = applied.linked;
    helperFiles = applied.helperFiles;
    // An output built aside that turned out to miss an object was not written: it failed.
    for (const plan of applied.failed) {
      statusOf.set(plan.out.path, plan.out.push || !context.skipUnpushable ? "failed" : "skipped");
    }
    for (const plan of plans) {
      const status = statusOf.get(plan.out.path);
      if (status === "failed") state.outs.delete(plan.out.path);
      else if (status !== "skipped") {
        state.outs.set(plan.out.path, { oid: plan.out.hash, isDir: plan.out.isDir });
      }
    }
    if (options.targets === undefined || options.targets.length === 0) {
      // Only what no stage file declares any more: an output whose hash is
      // unknown (dvc.lock removed to re-run the pipeline) is still tracked.
      deleted = await removeUnusedOuts(declared, guard, state);
    }
  } finally {
    await state.save();
  }

  const show = async (paths: string[]) => {
    const out: string[] = [];
    for (const path of paths) out.push(await displayWithKind(project.root, cwd, path));
    return out.sort(compareCodePoints);
  };
  const pathsWith = (status: OutPlan["status"]) =>
    [...statusOf].filter(([, s]) => s === status).map(([path]) => path);
  return {
    added: await show(pathsWith("added")),
    modified: await show(pathsWith("modified")),
    deleted: deleted.map((p) => display(project.root, cwd, p)).sort(compareCodePoints),
    failed: pathsWith("failed").map((p) => display(project.root, cwd, p)).sort(compareCodePoints),
    skipped: pathsWith("skipped").map((p) => display(project.root, cwd, p)).sort(compareCodePoints),
    linked,
    helperFiles,
    helperLookups: plans.reduce((n, plan) => n + (plan.helperLookups ?? 0), 0),
  };
}

/**
 * DVC's message for outputs whose objects are missing from the cache
 * (`dvc checkout` exits 255 with it; `dvc pull` prefixes it with
 * "failed to pull data from the cloud - ").
 */
export function checkoutFailedMessage(paths: readonly string[]): string {
  return `Checkout failed for following targets:\n${
    paths.join("\n")
  }\nIs your cache up to date?\n<https://error.dvc.org/missing-files>`;
}

/** A project path as the user sees it: relative to `cwd`, `/`-separated. */
function display(root: string, cwd: string, path: string): string {
  const rel = relative(cwd, join(root, ...path.split("/")));
  // The current folder itself is `.` (`./` as a folder), as Python's relpath says.
  return rel === "" ? "." : rel.split(sep).join("/");
}

/** Like {@link display}, with a trailing `/` for a folder (DVC's `_fspath_dir`). */
async function displayWithKind(root: string, cwd: string, path: string): Promise<string> {
  const shown = display(root, cwd, path);
  const info = await lstat(join(root, ...path.split("/"))).catch(() => undefined);
  return info?.isDirectory() ? `${shown}/` : shown;
}
