import { UnsafePathError } from "../errors/mod.ts";
import { IgnoreRules } from "./dvcignore.ts";
import { parseDvcFile } from "./dvc_file.ts";
import { type LockedOut, parseLockFile } from "./lock_file.ts";
import { type DvcOut, makeOut, StageFileError } from "./out.ts";
import { locateUnsafe, parsePipelineFile } from "./pipeline_file.ts";
import { joinInside } from "./safe_path.ts";
import { joinTreePath, type ProjectTree, treeDirname } from "./tree.ts";

/** Options of {@link collectOuts}. */
export interface CollectOptions {
  /**
   * Throw the first stage-file problem (a {@link StageFileError} naming the
   * file and line) instead of returning it as a warning. Anything that acts
   * on the workspace needs this: an output a broken file hides is not
   * "no longer tracked".
   */
  strict?: boolean;
  /** The commit `tree` comes from, named in messages (`… in revision '1f9cc14'`). */
  revision?: string;
}

/** What {@link collectOuts} found. */
export interface CollectResult {
  /** Every output with a recorded hash, in walk order (cache:false and push:false included). */
  outs: DvcOut[];
  /**
   * Every output path a stage file that was read declares, hash or not
   * (a `dvc.yaml` output without a `dvc.lock` entry is still tracked).
   */
  declared: Set<string>;
  /**
   * One line per stage-file problem (non-strict only): a file that could not
   * be read was skipped, an output with a bad hash was left out.
   */
  warnings: string[];
  /** Every stage file read without a problem (`dvc.yaml` and `.dvc` files), in walk order. */
  stageFiles: string[];
}

const PIPELINE_FILE = "dvc.yaml";
const LOCK_FILE = "dvc.lock";
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Collects the outputs of every stage in `tree` the way DVC builds its index
 * for a revision (spec §3.2): walks from the root honouring `.dvcignore`
 * files and the default ignores, skips nested DVC projects and folders that
 * are outputs of stages found earlier, reads `dvc.yaml` (+ sibling
 * `dvc.lock`) and `*.dvc` files. Output paths that are absolute, contain NUL
 * or a drive letter, or climb out of the project make it throw
 * {@link UnsafePathError} (naming the file and line), strict or not; they
 * are never returned.
 *
 * @example
 * const { outs } = await collectOuts(gitCommitTree(gitdir, sha));
 */
export async function collectOuts(
  tree: ProjectTree,
  options: CollectOptions = {},
): Promise<CollectResult> {
  const outPaths = new Set<string>();
  const result: CollectResult = { outs: [], declared: outPaths, warnings: [], stageFiles: [] };
  const decoder = new TextDecoder();
  const readText = async (path: string) => {
    const bytes = await tree.readFile(path);
    return bytes === undefined ? undefined : decoder.decode(bytes);
  };

  const walk = async (dir: string, inherited: IgnoreRules): Promise<void> => {
    const entries = await tree.listDir(dir);
    if (entries === undefined) return;
    // A folder with its own `.dvc/` below the root is another project.
    if (dir !== "" && entries.some((e) => e.name === ".dvc" && e.type === "dir")) return;
    let rules = inherited;
    if (entries.some((e) => e.name === ".dvcignore" && e.type === "file")) {
      rules = rules.withFile(dir, (await readText(joinTreePath(dir, ".dvcignore"))) ?? "");
    }
    for (const entry of entries) {
      if (entry.type !== "file") continue;
      const path = joinTreePath(dir, entry.name);
      const isStageFile = entry.name === PIPELINE_FILE ||
        (entry.name.endsWith(".dvc") && entry.name !== ".dvc");
      if (!isStageFile || rules.isIgnored(path, false)) continue;
      const revision = options.revision === undefined ? {} : { revision: options.revision };
      const report = (problem: StageFileError) => {
        const placed = problem.at(revision);
        if (options.strict) throw placed;
        result.warnings.push(placed.message);
      };
      try {
        const found = entry.name === PIPELINE_FILE
          ? await pipelineOuts(path, readText, outPaths, report)
          : await dvcFileOuts(path, readText, outPaths, report);
        result.outs.push(...found);
        result.stageFiles.push(path);
      } catch (error) {
        if (error instanceof StageFileError) report(error.at({ file: path }));
        else throw error;
      }
    }
    for (const entry of entries) {
      if (entry.type !== "dir") continue;
      const path = joinTreePath(dir, entry.name);
      if (outPaths.has(path) || rules.isIgnored(path, true)) continue;
      await walk(path, rules);
    }
  };

  await walk("", IgnoreRules.defaults());
  return result;
}

async function pipelineOuts(
  file: string,
  readText: (path: string) => Promise<string | undefined>,
  outPaths: Set<string>,
  report: (problem: StageFileError) => void,
): Promise<DvcOut[]> {
  const dir = treeDirname(file);
  const stages = await parsePipelineFile((await readText(file)) ?? "", file, readText);
  const lockFile = joinTreePath(dir, LOCK_FILE);
  const lockText = await readText(lockFile);
  const lock = lockText === undefined
    ? new Map<string, LockedOut[]>()
    : parseLockFile(lockText, lockFile);
  const found: DvcOut[] = [];
  const declared: string[] = [];
  for (const stage of stages) {
    const at = { file, line: stage.line };
    const wdir = unsafeAt(at, () => joinInside(dir, stage.wdir, "stage wdir"));
    const locked = lock.get(stage.name) ?? [];
    for (const out of stage.outs) {
      if (URL_LIKE.test(out.path)) continue; // external output: never transferred
      const path = unsafeAt(at, () => joinInside(wdir, out.path, "output path"));
      declared.push(path);
      // DVC matches lock entries by the path as written, relative to wdir.
      const entry = locked.find((l) => l.path === out.path) ??
        locked.find((l) => safeJoin(wdir, l.path) === path);
      if (entry === undefined) continue;
      const where = { file: lockFile, line: entry.line };
      const made = makeOut(
        {
          path,
          stageFile: file,
          stage: stage.name,
          entry: { ...where, keyPath: entry.keyPath },
        },
        out.flags,
        entry,
        (detail, key) =>
          report(
            new StageFileError(`stage '${stage.name}' output '${entry.path}': ${detail}`, {
              file: lockFile,
              line: entry.lineOfField(key),
            }),
          ),
      );
      if (made) found.push(made);
    }
  }
  for (const path of declared) outPaths.add(path);
  return found;
}

async function dvcFileOuts(
  file: string,
  readText: (path: string) => Promise<string | undefined>,
  outPaths: Set<string>,
  report: (problem: StageFileError) => void,
): Promise<DvcOut[]> {
  const stage = parseDvcFile((await readText(file)) ?? "", file);
  const wdir = unsafeAt(
    { file, line: stage.lineOf("wdir") },
    () => joinInside(treeDirname(file), stage.wdir, "'.dvc' wdir"),
  );
  const found: DvcOut[] = [];
  for (const out of stage.outs) {
    if (URL_LIKE.test(out.path)) continue;
    const where = { file, line: out.line };
    const path = unsafeAt(where, () => joinInside(wdir, out.path, "output path"));
    outPaths.add(path);
    // Repo imports are fetched from their source repository, never pushed.
    if (stage.isRepoImport) continue;
    const made = makeOut(
      { path, stageFile: file, entry: { ...where, keyPath: out.keyPath } },
      out.flags,
      out,
      (detail, key) =>
        report(
          new StageFileError(`output '${out.path}': ${detail}`, {
            file,
            line: out.lineOfField(key),
          }),
        ),
    );
    if (made) found.push(made);
  }
  return found;
}

/** Runs a path check, naming the stage file and line in the error when it refuses. */
function unsafeAt<T>(at: { file: string; line?: number | undefined }, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw error instanceof UnsafePathError ? locateUnsafe(error, at) : error;
  }
}

/** joinInside for a lock path used only for matching: unsafe ones never match. */
function safeJoin(base: string, rel: string): string | undefined {
  try {
    return joinInside(base, rel, "lock path");
  } catch (error) {
    if (error instanceof UnsafePathError) return undefined;
    throw error;
  }
}
