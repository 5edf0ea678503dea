import { readRefs } from "../../git/refs_read.ts";
import { resolveRevision } from "../../git/revision.ts";
import type { Project } from "../../project/project.ts";
import { commitUnit, type PlanUnit, workspaceUnit } from "./plan.ts";
import { type DataOptions, openDataRuntime } from "./runtime.ts";
import { downloadUnits, type PlanTransferReport, uploadUnits } from "./transfer.ts";

/** Which revisions `push`/`fetch` cover besides the work tree (DVC's flags). */
export interface RevisionFlags {
  readonly targets?: readonly string[];
  /** `--rev R` (repeatable). */
  readonly revs?: readonly string[];
  /** `-a`: every local branch. */
  readonly allBranches?: boolean;
  /** `-T`: every tag. */
  readonly allTags?: boolean;
}

/**
 * The trees DVC's `push`/`fetch` cover: the work tree, plus the tip of every
 * `--rev`, branch (`-a`) or tag (`-T`) given.
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
  for (const commit of commits) units.push(commitUnit(project, commit, commit));
  return units;
}

/** `dxp push`: upload the objects of the work tree (and revisions) to their remotes. */
export async function dataPush(
  project: Project,
  flags: RevisionFlags & DataOptions,
): Promise<PlanTransferReport> {
  const rt = await openDataRuntime(project, flags);
  try {
    return await uploadUnits(rt, await revisionUnits(project, flags), targetsOf(flags));
  } finally {
    await rt.close();
  }
}

/** `dxp fetch`: download the objects of the work tree (and revisions) into the cache. */
export async function dataFetch(
  project: Project,
  flags: RevisionFlags & DataOptions,
): Promise<PlanTransferReport> {
  const rt = await openDataRuntime(project, flags);
  try {
    return await downloadUnits(rt, await revisionUnits(project, flags), targetsOf(flags));
  } finally {
    await rt.close();
  }
}

function targetsOf(flags: RevisionFlags & DataOptions) {
  return {
    ...(flags.targets !== undefined ? { targets: flags.targets } : {}),
    ...(flags.remoteName !== undefined ? { remoteName: flags.remoteName } : {}),
  };
}
