import { InvalidArgumentError } from "../../errors/mod.ts";
import { localExpRefs } from "../../git/exp_refs.ts";
import { checkRefName, updateRef } from "../../git/ref_write.ts";
import { readHead, readRef } from "../../git/refs_read.ts";
import { ZERO_OID } from "../../git/transport/types.ts";
import type { GitCache } from "../../git/revision.ts";
import type { Project } from "../../project/project.ts";
import { appendReflog, committerIdentity } from "../workspace/git_ident.ts";
import { resolveRev } from "../workspace/exp_rev.ts";

/** Options of {@link expBranch}. */
export interface ExpBranchOptions {
  /** Experiment name, full ref or commit. */
  readonly rev: string;
  /** Branch name; default `<experiment name>-branch`. */
  readonly branch?: string | undefined;
}

/** What {@link expBranch} made. */
export interface ExpBranchResult {
  readonly branch: string;
  /** The experiment's name (from its ref). */
  readonly name: string;
  readonly sha: string;
}

/**
 * `dvc exp branch EXP [BRANCH]`: creates `refs/heads/<BRANCH>` at the
 * experiment's commit (HEAD and the work tree are not touched). Fails with
 * DVC's messages when the revision is unknown, is not an experiment commit,
 * is ambiguous, or the branch exists.
 *
 * @example
 * const { branch } = await expBranch(project, { rev: "exp-b" }); // "exp-b-branch"
 */
export async function expBranch(
  project: Project,
  options: ExpBranchOptions,
): Promise<ExpBranchResult> {
  const gitdir = project.gitDir;
  const cache: GitCache = {};
  let sha: string;
  try {
    sha = await resolveRev(gitdir, options.rev, cache);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw new InvalidArgumentError(options.rev, { cause: error, data: { rev: options.rev } });
  }
  const candidates = (await localExpRefs(gitdir)).filter((exp) => exp.sha === sha);
  let exp = candidates.length === 1 ? candidates[0] : undefined;
  if (candidates.length > 1) {
    const head = (await readHead(gitdir)).oid;
    exp = candidates.find((c) => c.baseline === head);
    if (exp === undefined) {
      throw new InvalidArgumentError(
        [
          `Ambiguous experiment name '${options.rev}' can refer to multiple experiments. To create a branch use a full experiment ref:`,
          "",
          ...candidates.map((c) => c.ref),
        ].join("\n"),
      );
    }
  }
  if (exp === undefined) {
    throw new InvalidArgumentError(`'${options.rev}' does not appear to be an experiment commit.`);
  }
  const branch = options.branch ?? `${exp.name}-branch`;
  const ref = `refs/heads/${branch}`;
  try {
    checkRefName(ref);
  } catch {
    throw new InvalidArgumentError(`'${branch}' is not a valid Git branch name.`);
  }
  if ((await readRef(gitdir, ref)) !== undefined) {
    throw new InvalidArgumentError(`Git branch '${branch}' already exists.`);
  }
  await updateRef(gitdir, ref, sha, ZERO_OID);
  const ident = committerIdentity(project.gitConfig, project.env);
  await appendReflog(
    gitdir,
    ref,
    ZERO_OID,
    sha,
    ident,
    `dvc: Created from experiment '${exp.name}'`,
  );
  return { branch, name: exp.name, sha };
}

/** DVC's message after `exp branch`. */
export function expBranchMessage(result: ExpBranchResult): string {
  return `Git branch '${result.branch}' has been created from experiment '${result.name}'.\n` +
    `To switch to the new branch run:\n\n\tgit checkout ${result.branch}`;
}
