import { CorruptError, InvalidArgumentError } from "../../errors/mod.ts";
import { completeSnapshot } from "../../git/commit_objects.ts";
import { localExpRefs, resolveExpNames } from "../../git/exp_refs.ts";
import { readHead, readRef, readRefs } from "../../git/refs_read.ts";
import { type GitCache, resolveRevision } from "../../git/revision.ts";

const EXEC_BASELINE = "refs/exps/exec/EXEC_BASELINE";

/**
 * DVC's `resolve_rev` for `exp apply`/`exp branch`/`exp show` (spec §1.4,
 * second list): `HEAD…` means the executor baseline when one is recorded;
 * then Git revision syntax; then a unique `refs/remotes/<remote>/<rev>`;
 * then an experiment name (settled by HEAD's baseline when several match).
 * Throws InvalidArgumentError `unknown Git revision '<rev>'`, or
 * `ambiguous Git revision '<rev>'` for an ambiguous experiment name.
 */
export async function resolveRev(
  gitdir: string,
  rev: string,
  cache: GitCache = {},
): Promise<string> {
  let wanted = rev;
  if (/^HEAD(?:[~^]|$)/.test(rev) && (await readRef(gitdir, EXEC_BASELINE)) !== undefined) {
    wanted = `${EXEC_BASELINE}${rev.slice(4)}`;
  }
  try {
    return await resolveRevision(gitdir, wanted, cache);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    const remote = await uniqueRemoteBranch(gitdir, rev);
    if (remote !== undefined) return remote;
    if (rev !== "HEAD" && !rev.startsWith("refs/")) {
      const found = await expByName(gitdir, rev).catch((e) => {
        if (e instanceof InvalidArgumentError) {
          throw new InvalidArgumentError(`ambiguous Git revision '${rev}'`);
        }
        throw e;
      });
      if (found !== undefined) return found;
    }
    throw error;
  }
}

/**
 * What `dvc exp apply` accepts: any revision (see {@link resolveRev}), else
 * an experiment name — where an ambiguous name fails with DVC's "Ambiguous
 * name … full refnames" list — else DVC's `'<rev>' does not appear to be an
 * experiment commit.` with the Git error as its cause.
 *
 * Apply writes every file of the commit, so its snapshot must be complete
 * here before anything changes: objects a partial clone left out are fetched
 * through the fetcher on `cache`; any still missing (a commit fetched into
 * a shallow clone without its history, by a tool that does not speak the
 * shallow protocol) are a one-line CorruptError.
 */
export async function resolveApplyRev(
  gitdir: string,
  rev: string,
  cache: GitCache = {},
): Promise<string> {
  const sha = await resolveApplyCommit(gitdir, rev, cache);
  const missing = await completeSnapshot(gitdir, sha, cache);
  if (missing.length > 0) {
    throw new CorruptError(
      `Experiment commit '${sha.slice(0, 7)}' is incomplete in this repository (Git object '${
        missing[0]
      }' is missing; it was fetched without its history): remove it with 'dxp exp remove ${rev}' and pull it again with 'dxp exp pull'.`,
      { data: { rev, missing } },
    );
  }
  return sha;
}

async function resolveApplyCommit(
  gitdir: string,
  rev: string,
  cache: GitCache,
): Promise<string> {
  try {
    return await resolveRev(gitdir, rev, cache);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    if (!rev.startsWith("refs/")) {
      const found = await expByName(gitdir, rev);
      if (found !== undefined) return found;
    }
    throw new InvalidArgumentError(`'${rev}' does not appear to be an experiment commit.`, {
      cause: error,
      data: { rev },
    });
  }
}

/** The commit of the experiment named `name` (DVC's resolve_name, locally), or undefined. */
async function expByName(gitdir: string, name: string): Promise<string | undefined> {
  const head = (await readHead(gitdir)).oid;
  const found = resolveExpNames([name], await localExpRefs(gitdir), head).found.get(name);
  return found?.sha;
}

/** `<rev>` as `refs/remotes/<remote>/<rev>` when exactly one remote has it. */
async function uniqueRemoteBranch(gitdir: string, rev: string): Promise<string | undefined> {
  const matches = [...await readRefs(gitdir, "refs/remotes/")].filter(([ref]) => {
    const rest = ref.slice("refs/remotes/".length);
    const slash = rest.indexOf("/");
    return slash > 0 && rest.slice(slash + 1) === rev;
  });
  return matches.length === 1 ? matches[0]![1] : undefined;
}
