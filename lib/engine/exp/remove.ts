import {
  type ExpRefAt,
  expRefsIn,
  localExpRefs,
  unresolvedNamesError,
} from "../../git/exp_refs.ts";
import { updateRef } from "../../git/ref_write.ts";
import { readRef } from "../../git/refs_read.ts";
import type { Transport } from "../../git/transport/types.ts";
import { ZERO_OID } from "../../git/transport/types.ts";
import { InvalidArgumentError } from "../../errors/mod.ts";
import { resolveGitRemote } from "../../project/git_remote.ts";
import type { Project } from "../../project/project.ts";
import { type ExpSelection, hasSha, type SelectedExp, selectExperiments } from "./select.ts";

export interface ExpRemoveOptions extends ExpSelection {
  /** Remove on this Git remote instead of locally. */
  readonly gitRemote?: string;
  /** Remove every experiment except the selected ones. */
  readonly keep?: boolean;
  readonly openTransport: (url: string) => Transport;
  readonly signal?: AbortSignal;
}

export interface ExpRemoveResult {
  /** What was removed, as the user named it (names, or full refs when given so). */
  readonly removed: string[];
  /** Refs the remote refused to delete, with its reason. */
  readonly rejected: { ref: string; label: string; reason: string }[];
}

/**
 * `exp remove [-g remote]`: names → else `--rev` → else `-A` (spec §2.5);
 * `--keep` inverts. Remote deletions go in ONE receive-pack request (DVC
 * pushes one per ref); local ones use compare-and-swap ref deletes.
 */
export function expRemove(
  project: Project,
  options: ExpRemoveOptions,
): Promise<ExpRemoveResult> {
  const names = options.names ?? [];
  if (names.length > 0 && (options.allCommits || (options.revs?.length ?? 0) > 0)) {
    throw new InvalidArgumentError(
      "Either provide an `experiment` argument, or use the `--rev` or `--all-commits` or `--queue` flag.",
    );
  }
  if (names.length === 0 && !options.allCommits && (options.revs?.length ?? 0) === 0) {
    throw new InvalidArgumentError(
      "Either provide an `experiment` argument, or use the `--rev` or `--all-commits` or `--queue` flag.",
    );
  }
  const selection: ExpSelection = (options.revs?.length ?? 0) > 0
    ? { revs: options.revs!, num: options.num ?? 1 }
    : options.allCommits
    ? { allCommits: true }
    : { names };
  if (options.gitRemote !== undefined) return removeOnRemote(project, options, selection);
  return removeLocally(project, options, selection);
}

async function choose(
  project: Project,
  available: ExpRefAt[],
  selection: ExpSelection,
  keep: boolean,
  unresolved: (names: string[]) => Error,
): Promise<{ exp: SelectedExp; label: string }[]> {
  let picked: SelectedExp[];
  try {
    picked = await selectExperiments(project.gitDir, available, selection, "exclusive");
  } catch (error) {
    const missing = (error as { data?: { names?: string[] } }).data?.names;
    if (missing) throw unresolved(missing);
    throw error;
  }
  if (keep) {
    const kept = new Set(picked.map((exp) => exp.ref));
    return available.filter(hasSha).filter((exp) => !kept.has(exp.ref)).map((exp) => ({
      exp,
      label: exp.name,
    }));
  }
  const byRef = new Map<string, string>();
  for (const name of selection.names ?? []) {
    const exp = picked.find((e) => (name.startsWith("refs/") ? e.ref === name : e.name === name));
    if (exp && !byRef.has(exp.ref)) byRef.set(exp.ref, name);
  }
  return picked.map((exp) => ({ exp, label: byRef.get(exp.ref) ?? exp.name }));
}

async function removeOnRemote(
  project: Project,
  options: ExpRemoveOptions,
  selection: ExpSelection,
): Promise<ExpRemoveResult> {
  const remoteArg = options.gitRemote!;
  const target = resolveGitRemote(remoteArg, project.gitConfig);
  const session = await options.openTransport(target.pushUrl).openPush(
    options.signal ? { signal: options.signal } : {},
  );
  try {
    const available = expRefsIn(session.advertisement.refs);
    const chosen = await choose(
      project,
      available,
      selection,
      options.keep ?? false,
      (missing) =>
        new InvalidArgumentError(
          `Experiment '${missing.join("; ")}' does not exist in '${remoteArg}'`,
        ),
    );
    if (chosen.length === 0) return { removed: [], rejected: [] };
    const updates = chosen.map(({ exp }) => ({ ref: exp.ref, oldOid: exp.sha, newOid: ZERO_OID }));
    const atomic = session.advertisement.capabilities.has("atomic");
    const results = new Map((await session.send(updates, null, { atomic })).map((r) => [r.ref, r]));
    const removed: string[] = [];
    const rejected: ExpRemoveResult["rejected"] = [];
    for (const { exp, label } of chosen) {
      const result = results.get(exp.ref);
      if (result?.ok) removed.push(label);
      else {rejected.push({
          ref: exp.ref,
          label,
          reason: result?.reason ?? "not reported by the remote",
        });}
    }
    return { removed, rejected };
  } finally {
    await session.close();
  }
}

async function removeLocally(
  project: Project,
  options: ExpRemoveOptions,
  selection: ExpSelection,
): Promise<ExpRemoveResult> {
  const gitdir = project.gitDir;
  const available = await localExpRefs(gitdir);
  const chosen = await choose(
    project,
    available,
    selection,
    options.keep ?? false,
    unresolvedNamesError,
  );
  const removed: string[] = [];
  const removedShas = new Set<string>();
  for (const { exp, label } of chosen) {
    await updateRef(gitdir, exp.ref, ZERO_OID, exp.sha);
    removed.push(label);
    removedShas.add(exp.sha);
  }
  // DVC also drops the executor's branch ref, and EXEC_APPLY when it pointed at a removed commit.
  if (removed.length > 0) {
    const branch = await readRef(gitdir, "refs/exps/exec/EXEC_BRANCH").catch(() => undefined);
    if (branch !== undefined) {
      await updateRef(gitdir, "refs/exps/exec/EXEC_BRANCH", ZERO_OID, undefined);
    }
    const apply = await readRef(gitdir, "refs/exps/exec/EXEC_APPLY");
    if (apply !== undefined && removedShas.has(apply)) {
      await updateRef(gitdir, "refs/exps/exec/EXEC_APPLY", ZERO_OID, apply);
    }
  }
  return { removed, rejected: [] };
}
