import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { openCache } from "../../../cache/cache.ts";
import { type LinkType, parseLinkTypes } from "../../../cache/link_types.ts";
import { formatExpRef } from "../../../core/exp_ref.ts";
import { DxpError, ExitCode, InvalidArgumentError } from "../../../errors/mod.ts";
import { updateRef } from "../../../git/ref_write.ts";
import { readHead, readRef } from "../../../git/refs_read.ts";
import type { GitCache } from "../../../git/revision.ts";
import { ZERO_OID } from "../../../git/transport/types.ts";
import { dictSha256, type PyDict } from "../../../dvc/py_value.ts";
import { loadDvcConfig } from "../../../project/dvc_config/mod.ts";
import type { Project } from "../../../project/project.ts";
import { WorkspaceState } from "../../workspace/state.ts";
import { putOutput } from "./cache_put.ts";
import { identityLine, resetIndexToHead, writeExpCommit } from "./exp_commit.ts";
import { checkExpName, randomExpName } from "./exp_name.ts";
import { ignoreLinesFor, writeIgnoreLines } from "./gitignore_outs.ts";
import { WorkspaceHasher } from "./hash_items.ts";
import { planStages, type StagePlan } from "./plan.ts";
import { writeRunCacheEntry } from "./run_cache_write.ts";
import { loadWorkspaceStages } from "./stages.ts";
import { writeStageFiles } from "./stage_files.ts";
import { absPath, selectStages } from "./targets.ts";

/** Options of {@link expSave}. */
export interface ExpSaveOptions {
  /** `-n`: the experiment's name; a random `<adjective>-<noun>` when absent. */
  readonly name?: string | undefined;
  /** `-f`: replace an experiment of that name on the same baseline. */
  readonly force?: boolean | undefined;
  /** `-I`: paths (relative to `cwd`) to commit even when untracked or Git-ignored. */
  readonly includeUntracked?: readonly string[] | undefined;
  /** `-m`: the commit message, verbatim. */
  readonly message?: string | undefined;
  /** Stages, stage files or outputs to save (default: all). */
  readonly targets?: readonly string[] | undefined;
  /** `-R`: directory targets select every stage file below them. */
  readonly recursive?: boolean | undefined;
  /** The user's directory (targets, `-I` paths and messages are relative to it). */
  readonly cwd?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Reports hashed bytes (progress). */
  readonly onBytes?: ((bytes: number) => void) | undefined;
}

/** What {@link expSave} did. */
export interface ExpSaveResult {
  readonly name: string;
  readonly ref: string;
  /** The experiment commit. */
  readonly sha: string;
  readonly baseline: string;
  /** DVC's info lines, in order (`Updating lock file 'dvc.lock'`). */
  readonly info: string[];
  /** DVC's warnings without the `WARNING: ` prefix (`'x' is empty.`). */
  readonly warnings: string[];
  /** Untracked files left out of the commit (Git work-tree paths, sorted). */
  readonly untracked: string[];
}

const PREFIX = "failed to save experiment - ";

/**
 * `dvc exp save` (spec: exp-save.md): hashes every dependency and output of
 * the selected stages and `.dvc` files, puts outputs into the cache and
 * records run-cache entries, rewrites `dvc.lock` and `.dvc` files as DVC
 * does, commits the workspace on top of HEAD with DVC's message and sets
 * `refs/exps/<2>/<38>/<name>`. HEAD does not move; the index is left equal
 * to HEAD, the work tree keeps the user's changes plus the updated stage
 * files. Everything is hashed and checked before anything is written: a
 * missing output, a file changing while read or an existing name changes
 * nothing; the ref is set last.
 *
 * @example
 * const { name, sha } = await expSave(openProject(".", process.env), { name: "run-42" });
 */
export async function expSave(project: Project, options: ExpSaveOptions = {}): Promise<
  ExpSaveResult
> {
  try {
    return await save(project, options);
  } catch (error) {
    throw withPrefix(error);
  }
}

async function save(project: Project, options: ExpSaveOptions): Promise<ExpSaveResult> {
  const gitdir = project.gitDir;
  const gitCache: GitCache = {};
  const cwd = options.cwd ?? project.root;
  const signal = options.signal;
  const head = await readHead(gitdir);
  if (head.oid === undefined) {
    throw new InvalidArgumentError(
      "the current branch has no commit yet: commit once, then save experiments on top of it",
    );
  }
  const baseline = head.oid;
  let name = options.name;
  let ref: string | undefined;
  if (name !== undefined) {
    ref = formatExpRef(baseline, name);
    checkExpName(name, ref);
    if (!options.force && (await readRef(gitdir, ref)) !== undefined) throw exists(name);
  }
  const show = (path: string) => shownPath(project.root, cwd, path);

  const workspace = await loadWorkspaceStages(project.root);
  const targets = options.targets ?? [];
  const selected = targets.length === 0 ? workspace.stages : await selectStages(
    workspace.stages,
    targets,
    { root: project.root, cwd, recursive: options.recursive ?? false },
  );
  const gitPrefix = relative(project.gitWorkTree, project.root).split(sep).filter((s) => s !== "");
  const toGit = (path: string) => [...gitPrefix, ...(path === "" ? [] : [path])].join("/");
  const include = await includePaths(project, cwd, options.includeUntracked ?? []);
  for (const path of workspace.topLevelFiles) {
    if (await fileExists(absPath(project.root, path))) include.push(toGit(path));
  }

  const config = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: config.cacheDir ?? join(project.dvcDir, "cache"),
    shared: config.cacheShared,
  });
  const linkTypes = parseLinkTypes(config.cacheType);
  const state = await WorkspaceState.load(project.dvcDir);
  const hasher = new WorkspaceHasher({
    root: project.root,
    state,
    signal,
    show,
    onBytes: options.onBytes,
  });

  // 1. Hash and check everything; nothing is written before this is done.
  const plans = await planStages(selected, { root: project.root, hasher, show });

  const ignoreLines = await ignoreLinesFor(plans.flatMap((p) => p.outs.map((o) => o.out)), {
    dir: project.gitWorkTree,
    gitdir,
    toGit,
    show,
  });

  // 2. Objects into the cache, run-cache entries, `.gitignore` lines for new outputs.
  const put = {
    cache,
    root: project.root,
    linkTypes,
    signal,
    show,
    refused: new Set<LinkType>(),
    buffers: [],
  };
  for (const plan of plans) {
    for (const out of plan.outs) {
      if (!out.out.cache) continue;
      const recorded = out.out.recorded;
      await putOutput(
        put,
        out.out.path,
        out.digest,
        out.scheme,
        false,
        recorded === undefined ? undefined : { oid: recorded, scheme: out.out.scheme },
      );
    }
  }
  for (const plan of plans) {
    if (plan.lockEntry === undefined || !plan.runCacheable) continue;
    for (const out of plan.outs) {
      if (!out.out.cache) await putOutput(put, out.out.path, out.digest, out.scheme, true);
    }
    await writeRunCacheEntry(cache, plan.lockEntry);
  }

  include.push(...await writeIgnoreLines(project.gitWorkTree, ignoreLines));

  // 3. The new stage files and the experiment commit (Git objects only).
  const stageFiles = writeStageFiles(plans, workspace, show);
  if (name === undefined) {
    for (;;) {
      name = randomExpName();
      ref = formatExpRef(baseline, name);
      if ((await readRef(gitdir, ref)) === undefined) break;
    }
  }
  const expRef = ref!;
  const expHash = targets.length > 0 ? dictSha256(new Map()) : experimentHash(plans);
  const overrides = new Map<string, { bytes: Uint8Array; always: boolean }>();
  for (const [path, file] of stageFiles.files) {
    overrides.set(toGit(path), { bytes: file.bytes, always: file.isLock });
  }
  const commit = await writeExpCommit({
    dir: project.gitWorkTree,
    gitdir,
    cache: gitCache,
    baseline,
    message: options.message ?? `dvc: commit experiment ${expHash}`,
    author: identityLine("AUTHOR", project.gitConfig, project.env),
    committer: identityLine("COMMITTER", project.gitConfig, project.env),
    overrides,
    include,
  });

  // 4. The work tree's stage files, then the ref (compare-and-swap), then the index.
  if (signal?.aborted) throw signal.reason;
  const restore = await stageFiles.write(project.root);
  try {
    const previous = await readRef(gitdir, expRef);
    if (previous !== undefined && !options.force) throw exists(name!);
    await updateRef(gitdir, expRef, commit.sha, previous ?? ZERO_OID);
  } catch (error) {
    await restore();
    throw error;
  }
  if (commit.indexDiffers) {
    const dirty = new Set([...commit.workDirty, ...overrides.keys()]);
    await resetIndexToHead(project.gitWorkTree, gitdir, commit.headFiles, dirty);
  }
  // Rewriting the stamp cache is only worth it when something was read.
  if (hasher.hashedFiles > 0) await state.save().catch(() => undefined);
  return {
    name: name!,
    ref: expRef,
    sha: commit.sha,
    baseline,
    info: stageFiles.info,
    warnings: hasher.empty.map((path) => `'${path}' is empty.`),
    untracked: commit.untracked,
  };
}

/** DVC's experiment hash: sha256 of the JSON of the committed pipeline stages' lock entries. */
function experimentHash(plans: readonly StagePlan[]): string {
  const data: PyDict = new Map();
  for (const plan of plans) {
    if (plan.lockEntry !== undefined) data.set(plan.stage.name, plan.lockEntry);
  }
  return dictSha256(data);
}

function exists(name: string): DxpError {
  return new DxpError(
    "ExperimentExists",
    `Experiment conflicts with existing experiment '${name}'. To overwrite the existing experiment run:\n\n\tdvc exp run -f ...\n\n`,
    ExitCode.failure,
    { data: { name } },
  );
}

/** `-I` paths as Git work-tree paths; each must exist inside the repository. */
async function includePaths(
  project: Project,
  cwd: string,
  paths: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const abs = resolve(cwd, path);
    const rel = relative(project.gitWorkTree, abs);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
      throw new InvalidArgumentError(`'${path}' is outside the Git repository`);
    }
    if (!(await fileExists(abs))) throw new InvalidArgumentError(`'${path}' does not exist`);
    out.push(rel.split(sep).join("/"));
  }
  return out;
}

async function fileExists(path: string): Promise<boolean> {
  const { lstat } = await import("node:fs/promises");
  return await lstat(path).then(() => true, () => false);
}

/** A project path as DVC shows it: relative to the user's directory when inside the project. */
export function shownPath(root: string, cwd: string, path: string): string {
  const abs = absPath(root, path);
  const rel = relative(cwd, abs);
  const inside = !relative(root, cwd).startsWith("..");
  return (inside ? rel : path).split(sep).join("/") || ".";
}

/** DVC's `failed to save experiment - <message>`, keeping the error's exit code. */
function withPrefix(error: unknown): unknown {
  if (!(error instanceof DxpError) || error.exitCode === ExitCode.interrupted) return error;
  if (error.code === "Config" || error.exitCode === ExitCode.notARepo) return error;
  return new DxpError(error.code, `${PREFIX}${error.message}`, error.exitCode, {
    data: error.data,
  });
}
