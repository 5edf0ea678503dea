import { readHead, readRefs } from "../../git/refs_read.ts";
import { type GitCache, peelToCommit, readParents, resolveRevision } from "../../git/revision.ts";
import type { Project } from "../../project/project.ts";
import { commitUnit, type PlanUnit, workspaceUnit } from "./plan.ts";
import { type DataOptions, openDataRuntime } from "./runtime.ts";
import type { Targets } from "./targets.ts";
import { downloadUnits, type PlanTransferReport, uploadUnits } from "./transfer.ts";

/** What `push`/`fetch` cover: targets, and which revisions besides the work tree (DVC's flags). */
export interface RevisionFlags {
  readonly targets?: Targets;
  /** `--rev R` (repeatable). */
  readonly revs?: readonly string[];
  /** `-a`: every local branch. */
  readonly allBranches?: boolean;
  /** `-T`: every tag. */
  readonly allTags?: boolean;
  /** `-A`: every commit reachable from a branch, tag or HEAD (not experiments, as DVC). */
  readonly allCommits?: boolean;
}

/**
 * The trees DVC's `push`/`fetch` cover: the work tree, plus the tip of every
 * `--rev`, branch (`-a`) or tag (`-T`) given, or every commit (`-A`).
 */
export async function revisionUnits(project: Project, flags: RevisionFlags): Promise<PlanUnit[]> {
  const units = [workspaceUnit(project)];
  const commits = new Set<string>();
  for (const rev of flags.revs ?? []) commits.add(await resolveRevision(project.gitDir, rev));
  if (flags.allBranches) {
    for (const oid of (await readRefs(project.gitDir, "refs/heads/")).values()) {
      commits.add(oid);
    }
  }
  if (flags.allTags) {
    for (const ref of (await readRefs(project.gitDir, "refs/tags/")).keys()) {
      commits.add(await resolveRevision(project.gitDir, ref));
    }
  }
  if (flags.allCommits) {
    for (const commit of await allCommits(project.gitDir)) commits.add(commit);
  }
  for (const commit of commits) units.push(commitUnit(project, commit, commit));
  return units;
}

/**
 * Every commit reachable from HEAD and the refs, leaving out DVC's own
 * `refs/exps/` (DVC's `-A` does not cover experiments: fixtures README §9.4).
 * A parent missing from a shallow clone ends that line of history.
 */
async function allCommits(gitdir: string): Promise<string[]> {
  const cache: GitCache = {};
  const tips = new Set<string>();
  const head = (await readHead(gitdir)).oid;
  if (head !== undefined) tips.add(head);
  for (const [ref, oid] of await readRefs(gitdir, "refs/")) {
    if (ref.startsWith("refs/exps/") || ref === "refs/stash") continue;
    const commit = await peelToCommit(gitdir, oid, cache).catch(() => undefined);
    if (commit !== undefined) tips.add(commit);
  }
  const seen = new Set<string>();
  const queue = [...tips];
  while (queue.length > 0) {
    const oid = queue.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    const parents = await readParents(gitdir, oid, cache).catch(() => [] as string[]);
    queue.push(...parents.filter((p) => !seen.has(p)));
  }
  return [...seen];
}

/** `dxp push`: upload the objects of the work tree (and revisions) to their remotes. */
export async function dataPush(
  project: Project,
  flags: RevisionFlags,
  options: DataOptions = {},
): Promise<PlanTransferReport> {
  const rt = await openDataRuntime(project, { command: "push", ...options });
  try {
    return await uploadUnits(rt, await revisionUnits(project, flags), targetsOf(flags));
  } finally {
    await rt.close();
  }
}

/** `dxp fetch`: download the objects of the work tree (and revisions) into the cache. */
export async function dataFetch(
  project: Project,
  flags: RevisionFlags,
  options: DataOptions = {},
): Promise<PlanTransferReport> {
  const rt = await openDataRuntime(project, { command: "fetch", ...options });
  try {
    return await downloadUnits(rt, await revisionUnits(project, flags), targetsOf(flags));
  } finally {
    await rt.close();
  }
}

function targetsOf(flags: RevisionFlags): { targets?: Targets } {
  return flags.targets !== undefined ? { targets: flags.targets } : {};
}
