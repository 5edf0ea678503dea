import * as fs from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import git from "isomorphic-git";
import { DxpError, ExitCode, InvalidArgumentError, UnsafePathError } from "../../errors/mod.ts";
import { StageFileError } from "../../dvc/out.ts";
import { ZERO_OID } from "../../git/transport/types.ts";
import { updateRef } from "../../git/ref_write.ts";
import { readHead, readRef } from "../../git/refs_read.ts";
import type { GitCache } from "../../git/revision.ts";
import type { Project } from "../../project/project.ts";
import { checkout, checkoutFailedMessage } from "../checkout/checkout.ts";
import type { CheckoutOptions, CheckoutResult } from "../checkout/types.ts";
import { resolveApplyRev } from "../workspace/exp_rev.ts";
import { attachObjectFetcher } from "../../git/promisor.ts";
import { promisorFor, transportFor } from "./transport_for.ts";
import { writeGitIndex } from "../workspace/git_index.ts";
import { appendReflog, committerIdentity, type GitIdentity } from "../workspace/git_ident.ts";
import { createStash, dirtyPaths, type Stash } from "../workspace/git_stash.ts";
import {
  flattenCommit,
  type GitFile,
  removeWorkFile,
  writeGitFile,
} from "../workspace/git_tree.ts";
import { WorkspaceGuard } from "../workspace/guard.ts";
import { lstatOrUndefined } from "../workspace/scan.ts";
import { saveWorkspaceOutputs } from "../workspace/save_workspace.ts";
import { collectOuts } from "../../dvc/collect_outs.ts";
import { gitCommitTree } from "../../git/tree_reader.ts";

/** Where `exp apply` keeps the workspace it replaced (DVC's refs). */
export const APPLY_STASH = "refs/exps/apply/stash";
export const APPLY_ORIG_HEAD = "refs/exps/apply/ORIG_HEAD";
export const EXEC_APPLY = "refs/exps/exec/EXEC_APPLY";

/** Options of {@link expApply}. */
export interface ExpApplyOptions {
  /** Experiment name, full `refs/exps/…` ref, or any Git revision. */
  readonly rev: string;
  /** Options passed to the data checkout (cwd for printed paths, jobs, signal…). */
  readonly checkout?: Omit<CheckoutOptions, "force" | "targets" | "skipUnpushable" | "revTree">;
}

/** What {@link expApply} did. */
export interface ExpApplyResult {
  readonly rev: string;
  /** The experiment commit applied. */
  readonly sha: string;
  /** The stash commit holding the workspace changes it replaced, when there were any. */
  readonly stash: string | undefined;
  /** Outputs (project paths) whose changed content was put into the cache and recorded in the stash. */
  readonly saved: string[];
  readonly checkout: CheckoutResult;
}

/**
 * `dvc exp apply` (spec §7.3): resolves the experiment; reads its stage
 * files and the workspace's before anything changes (one that cannot be
 * read stops it, nothing changed); puts outputs the user changed into the
 * cache; records HEAD in `refs/exps/apply/ORIG_HEAD`; saves uncommitted
 * changes (untracked files included, and the stage files rewritten to
 * record the saved outputs) as a git stash commit in
 * `refs/exps/apply/stash`, earlier ones staying in its reflog; resets the
 * work tree and index to HEAD; writes the experiment commit's files into
 * the work tree without moving HEAD (they show as uncommitted changes);
 * puts back saved changes the experiment does not have; checks out its data
 * (forced); sets `refs/exps/exec/EXEC_APPLY`. `push: false` outputs missing
 * from the cache are skipped (`checkout.skipped`), other missing objects
 * fail the command as in DVC.
 *
 * @example
 * const { sha, checkout } = await expApply(openProject(".", process.env), { rev: "exp-b" });
 */
export async function expApply(
  project: Project,
  options: ExpApplyOptions,
): Promise<ExpApplyResult> {
  const gitdir = project.gitDir;
  // A partial clone fetches the experiment's left-out files before anything changes.
  const cache: GitCache = attachObjectFetcher(
    {},
    promisorFor(project, transportFor(project))?.fetch,
  );
  const sha = await resolveApplyRev(gitdir, options.rev, cache);
  const head = await readHead(gitdir);
  if (head.oid === undefined) {
    throw new InvalidArgumentError(
      "Cannot apply an experiment on a branch without commits; commit first.",
    );
  }
  const headOid = head.oid;
  const ident = committerIdentity(project.gitConfig, project.env);
  const guard = new WorkspaceGuard(project.gitWorkTree);
  const ctx = { dir: project.gitWorkTree, gitdir, cache };

  // Every stage file involved is read before anything changes: a broken
  // one in the experiment would make its checkout remove outputs, one in
  // the workspace would hide outputs the user changed.
  const subdir = relative(project.gitWorkTree, project.root).split(sep).join("/");
  await collectOuts(gitCommitTree(gitdir, sha, subdir, cache), { strict: true, revision: sha })
    .catch(refuse(`Cannot apply experiment '${options.rev}' (nothing was changed)`));
  const saved = await saveWorkspaceOutputs(project, options.checkout?.signal).catch(
    (error: unknown) =>
      refuse(
        error instanceof StageFileError || error instanceof UnsafePathError
          ? `Cannot apply experiment '${options.rev}' over a workspace whose stage files cannot be read (nothing was changed)`
          : `Cannot apply experiment '${options.rev}': the outputs you changed could not be saved (nothing was changed)`,
      )(error),
  );

  await updateRef(gitdir, APPLY_ORIG_HEAD, headOid, undefined);

  const headFiles = await flattenCommit(gitdir, headOid, cache);
  const expFiles = await flattenCommit(gitdir, sha, cache);
  const rows = await dirtyPaths(ctx);
  let stash: Stash | undefined;
  if (rows.length > 0 || saved.stageFiles.size > 0) {
    const { commit } = await git.readCommit({ fs, gitdir, oid: headOid, cache });
    const branch = head.branchRef?.replace(/^refs\/heads\//, "") ?? "(no branch)";
    const message = `dvc-exp-apply:${headOid}:${sha}:${options.rev}`;
    stash = await createStash(
      ctx,
      rows,
      {
        headOid,
        branch,
        subject: commit.message.split("\n")[0] ?? "",
        message,
      },
      ident,
      saved.stageFiles,
    );
    await pushStash(gitdir, stash.sha, ident, `On ${branch}: ${message}`);
  }

  try {
    if (stash !== undefined) {
      // `git reset --hard` + `git clean` of what was stashed, then the index = HEAD.
      for (const [path, , work] of rows) {
        const file = headFiles.get(path);
        if (file === undefined) await removeWorkFile(guard, path);
        else if (work !== 1) await writeGitFile(gitdir, guard, path, file, cache);
      }
      await writeGitIndex(
        gitdir,
        await Promise.all(
          [...headFiles].map(async ([path, file]) => ({
            path,
            file,
            stats: await lstatOrUndefined(join(project.gitWorkTree, ...path.split("/"))),
          })),
        ),
      );
    }
    await switchWorkTree(gitdir, guard, headFiles, expFiles, cache);
    if (stash !== undefined) {
      // DVC puts back the stashed changes to files the experiment does not have.
      const folders = foldersOf(expFiles);
      const changed = new Set([...rows.map(([path]) => path), ...saved.stageFiles.keys()]);
      for (const path of changed) {
        const file = stash.worktree.get(path) ?? stash.untracked.get(path);
        if (file !== undefined && !expFiles.has(path) && !folders.has(path)) {
          await writeGitFile(gitdir, guard, path, file, cache);
        }
      }
    }
  } catch (error) {
    throw withStashHint(error, stash);
  }

  const result = await checkout(project, {
    ...options.checkout,
    force: true,
    skipUnpushable: true,
  });
  if (result.failed.length > 0) {
    throw new DxpError("CheckoutFailed", checkoutFailedMessage(result.failed), ExitCode.failure, {
      data: { failed: result.failed },
    });
  }
  await updateRef(gitdir, EXEC_APPLY, sha, undefined);
  return { rev: options.rev, sha, stash: stash?.sha, saved: saved.outputs, checkout: result };
}

/**
 * Points `refs/exps/apply/stash` at a new stash commit and logs it, so
 * earlier stashes stay reachable as `refs/exps/apply/stash@{1}`, … exactly
 * as `git stash` keeps `refs/stash@{n}` (DVC drops them). A stash left
 * without a log line (by DVC) gets one first, so it is not lost either.
 */
async function pushStash(
  gitdir: string,
  sha: string,
  ident: GitIdentity,
  message: string,
): Promise<void> {
  const previous = await readRef(gitdir, APPLY_STASH);
  if (previous !== undefined && !(await hasReflog(gitdir, APPLY_STASH))) {
    await appendReflog(gitdir, APPLY_STASH, ZERO_OID, previous, ident, "dvc-exp-apply stash");
  }
  await updateRef(gitdir, APPLY_STASH, sha, previous ?? ZERO_OID);
  await appendReflog(gitdir, APPLY_STASH, previous ?? ZERO_OID, sha, ident, message);
}

async function hasReflog(gitdir: string, ref: string): Promise<boolean> {
  const text = await readFile(join(gitdir, "logs", ...ref.split("/")), "utf8").catch(() => "");
  return text.trim() !== "";
}

/** Wraps a problem found before anything changed, keeping its code and exit code. */
function refuse(message: string): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof DxpError)) throw error;
    throw new DxpError(error.code, message, error.exitCode, { cause: error, data: error.data });
  };
}

/** Makes the work tree hold `target`'s files where it held `current`'s (HEAD and index untouched). */
async function switchWorkTree(
  gitdir: string,
  guard: WorkspaceGuard,
  current: ReadonlyMap<string, GitFile>,
  target: ReadonlyMap<string, GitFile>,
  cache: GitCache,
): Promise<void> {
  for (const [path, file] of current) {
    if (target.has(path)) continue;
    const info = await lstatOrUndefined(guard.abs(path));
    if (info !== undefined && !info.isDirectory() && file.mode !== "160000") {
      await removeWorkFile(guard, path);
    }
  }
  for (const [path, file] of target) {
    const before = current.get(path);
    if (before !== undefined && before.oid === file.oid && before.mode === file.mode) continue;
    await writeGitFile(gitdir, guard, path, file, cache);
  }
}

/** Every folder path that holds files of a tree. */
function foldersOf(files: ReadonlyMap<string, GitFile>): Set<string> {
  const folders = new Set<string>();
  for (const path of files.keys()) {
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      const dir = path.slice(0, i);
      if (folders.has(dir)) break;
      folders.add(dir);
    }
  }
  return folders;
}

function withStashHint(error: unknown, stash: Stash | undefined): unknown {
  if (stash === undefined) return error;
  const hint =
    `Your previous workspace changes are saved: restore them with 'git stash apply ${APPLY_STASH}'.`;
  if (error instanceof DxpError) {
    return new DxpError(error.code, `${error.message} ${hint}`, error.exitCode, {
      data: error.data,
    });
  }
  const why = error instanceof Error ? error.message : String(error);
  return new DxpError(
    "ApplyFailed",
    `Applying the experiment failed: ${why}. ${hint}`,
    ExitCode.failure,
  );
}
