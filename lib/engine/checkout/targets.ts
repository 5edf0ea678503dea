import { isAbsolute, posix, relative, resolve, sep } from "node:path";
import { DxpError, ExitCode, InvalidArgumentError } from "../../errors/mod.ts";
import type { DvcOut } from "../../dvc/out.ts";

/** One output to check out, possibly only a part of a directory output. */
export interface SelectedOut {
  readonly out: DvcOut;
  /**
   * For a target inside a directory output: that file or folder
   * (project-relative). An output may be selected several times with
   * disjoint parts.
   */
  readonly within?: string;
}

/** What {@link selectOuts} needs to know about the project besides its outputs. */
export interface TargetContext {
  /** The project root and the folder targets are relative to. */
  readonly root: string;
  readonly cwd: string;
  /** True when a stage file (`dvc.yaml`, `*.dvc`; project path) exists, outputs or not. */
  readonly stageFileExists: (path: string) => Promise<boolean>;
}

const PIPELINE_FILE = "dvc.yaml";

/**
 * Picks the outputs named by `targets` (relative to `cwd`) the way DVC
 * resolves checkout targets: an output path, a path inside a directory
 * output (only that part), a folder holding outputs, a `.dvc` file, a
 * `dvc.yaml`, `dvc.yaml:stage` or a stage name of the `dvc.yaml` in `cwd`.
 * A target matching nothing fails with DVC's error chain ("Did you mean
 * `git checkout <target>`?: …"). No targets: every output.
 */
export async function selectOuts(
  outs: readonly DvcOut[],
  targets: readonly string[] | undefined,
  ctx: TargetContext,
): Promise<SelectedOut[]> {
  if (targets === undefined || targets.length === 0) return outs.map((out) => ({ out }));
  const whole = new Set<DvcOut>();
  const parts = new Map<DvcOut, Set<string>>();
  const cwdRel = toProjectPath(ctx.root, ctx.cwd, ".");
  for (const target of targets) {
    const matches = await match(outs, target, ctx, cwdRel);
    for (const selected of matches) {
      if (selected.within === undefined) whole.add(selected.out);
      else {
        const list = parts.get(selected.out) ?? new Set<string>();
        list.add(selected.within);
        parts.set(selected.out, list);
      }
    }
  }
  const chosen: SelectedOut[] = [];
  for (const out of outs) {
    if (whole.has(out)) {
      chosen.push({ out });
      continue;
    }
    const within = [...(parts.get(out) ?? [])].sort();
    // A part inside another selected part adds nothing.
    const kept = within.filter((p) => !within.some((q) => q !== p && p.startsWith(`${q}/`)));
    for (const path of kept) chosen.push({ out, within: path });
  }
  return chosen;
}

async function match(
  outs: readonly DvcOut[],
  target: string,
  ctx: TargetContext,
  cwdRel: string,
): Promise<SelectedOut[]> {
  const colon = target.lastIndexOf(":");
  if (colon > 0 && !isAbsolute(target.slice(colon + 1))) {
    const given = target.slice(0, colon);
    const file = projectPathOrUndefined(ctx, given);
    const stage = target.slice(colon + 1);
    if (file !== undefined && isStageFileName(file)) {
      const found = outs.filter((o) => o.stageFile === file && o.stage === stage);
      if (found.length > 0) return found.map((out) => ({ out }));
      if (!(await ctx.stageFileExists(file))) throw suggestGit(target, `'${given}' does not exist`);
      // DVC raises StageNotFound itself here, without the `git checkout` hint.
      throw new DxpError("StageNotFound", stageNotFound(stage, given), ExitCode.failure, {
        data: { target },
      });
    }
  }
  const path = projectPathOrUndefined(ctx, target);
  if (path !== undefined) {
    const byFile = outs.filter((o) => o.stageFile === path);
    if (byFile.length > 0) return byFile.map((out) => ({ out }));
    if (isStageFileName(path)) {
      // A stage file without cached outputs selects nothing; a missing one is DVC's error.
      if (await ctx.stageFileExists(path)) return [];
      throw suggestGit(target, `'${target}' does not exist`);
    }
    const exact = outs.filter((o) =>
      o.path === path || path === "" || o.path.startsWith(`${path}/`)
    );
    if (exact.length > 0) return exact.map((out) => ({ out }));
    const inside = outs.find((o) => o.isDir && path.startsWith(`${o.path}/`));
    if (inside !== undefined) return [{ out: inside, within: path }];
  }
  const pipeline = cwdRel === "" ? PIPELINE_FILE : `${cwdRel}/${PIPELINE_FILE}`;
  const byStage = outs.filter((o) => o.stageFile === pipeline && o.stage === target);
  if (byStage.length > 0) return byStage.map((out) => ({ out }));
  const exists = await ctx.stageFileExists(pipeline);
  throw suggestGit(
    target,
    `'${target}' does not exist as an output or a stage name in '${PIPELINE_FILE}'`,
    exists ? stageNotFound(target, PIPELINE_FILE) : `'${PIPELINE_FILE}' does not exist`,
  );
}

/** DVC's `CheckoutErrorSuggestGit` with the chain of causes it prints after it. */
function suggestGit(target: string, ...causes: string[]): DxpError {
  let cause: DxpError | undefined;
  for (const text of [...causes].reverse()) {
    cause = new DxpError("NoOutputOrStage", text, ExitCode.failure, cause ? { cause } : {});
  }
  return new DxpError(
    "CheckoutSuggestGit",
    `Did you mean \`git checkout ${target}\`?`,
    ExitCode.failure,
    {
      ...(cause ? { cause } : {}),
      data: { target },
    },
  );
}

function stageNotFound(stage: string, file: string): string {
  return `Stage '${stage}' not found inside '${file}' file`;
}

function isStageFileName(path: string): boolean {
  const name = posix.basename(path);
  return name === PIPELINE_FILE || (name.endsWith(".dvc") && name !== ".dvc");
}

/** {@link toProjectPath}, or `undefined` for a path outside the project (it matches nothing). */
function projectPathOrUndefined(ctx: TargetContext, path: string): string | undefined {
  try {
    return toProjectPath(ctx.root, ctx.cwd, path);
  } catch (error) {
    if (error instanceof InvalidArgumentError) return undefined;
    throw error;
  }
}

/**
 * A path given relative to `cwd` as a project-relative `/` path (`""` for
 * the root). Paths outside the project are an InvalidArgumentError.
 */
export function toProjectPath(root: string, cwd: string, path: string): string {
  const rel = relative(root, resolve(cwd, path));
  if (rel === "") return "";
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new InvalidArgumentError(`'${path}' is outside the DVC project '${root}'.`);
  }
  return rel.split(sep).join("/");
}
