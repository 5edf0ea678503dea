import { isAbsolute, relative, resolve, sep } from "node:path";
import type { DvcOut } from "../../dvc/mod.ts";
import { DxpError, ExitCode, InvalidArgumentError } from "../../errors/mod.ts";

/** The targets of `push`/`fetch`/`pull` as typed, and where they were typed. */
export interface Targets {
  readonly paths: readonly string[];
  /** The directory they are relative to (the command's cwd). */
  readonly cwd: string;
}

/** An output a target selects, or only the parts of a directory output under `within`. */
export interface TargetedOut {
  readonly out: DvcOut;
  /** Project-relative paths inside the directory output (files or folders of it). */
  readonly within?: readonly string[];
}

/**
 * The outputs a list of targets selects in one tree, the way DVC resolves
 * `push`/`fetch` targets: a stage file (`.dvc`, `dvc.yaml`), `file:stage`,
 * an output path, a folder holding outputs, a path inside a directory
 * output (only the files under it), or a stage name of the `dvc.yaml` in
 * `cwd`. Also returns the targets that matched nothing here.
 */
export function selectTargets(
  outs: readonly DvcOut[],
  targets: Targets,
  root: string,
): { selected: TargetedOut[]; unmatched: string[] } {
  const chosen = new Map<DvcOut, TargetedOut>();
  const unmatched: string[] = [];
  const cwdRel = projectPath(root, targets.cwd, ".");
  for (const target of targets.paths) {
    const matches = matchTarget(outs, target, root, targets.cwd, cwdRel);
    if (matches.length === 0) unmatched.push(target);
    for (const match of matches) {
      const before = chosen.get(match.out);
      // The whole output wins over parts of it; parts add up.
      if (before === undefined) chosen.set(match.out, match);
      else if (before.within !== undefined) {
        chosen.set(
          match.out,
          match.within === undefined
            ? match
            : { out: match.out, within: [...before.within, ...match.within] },
        );
      }
    }
  }
  return { selected: outs.filter((o) => chosen.has(o)).map((o) => chosen.get(o)!), unmatched };
}

function matchTarget(
  outs: readonly DvcOut[],
  target: string,
  root: string,
  cwd: string,
  cwdRel: string,
): TargetedOut[] {
  const colon = target.lastIndexOf(":");
  if (colon > 0 && !isAbsolute(target.slice(colon + 1))) {
    const file = projectPath(root, cwd, target.slice(0, colon));
    const stage = target.slice(colon + 1);
    const found = outs.filter((o) => o.stageFile === file && o.stage === stage);
    if (found.length > 0) return found.map((out) => ({ out }));
  }
  const path = projectPath(root, cwd, target);
  const byFile = outs.filter((o) => o.stageFile === path);
  if (byFile.length > 0) return byFile.map((out) => ({ out }));
  const whole = outs.filter((o) => path === "" || o.path === path || o.path.startsWith(`${path}/`));
  if (whole.length > 0) return whole.map((out) => ({ out }));
  const inside = outs.find((o) => o.isDir && path.startsWith(`${o.path}/`));
  if (inside !== undefined) return [{ out: inside, within: [path] }];
  if (!target.includes("/")) {
    const pipeline = cwdRel === "" ? "dvc.yaml" : `${cwdRel}/dvc.yaml`;
    const byStage = outs.filter((o) => o.stageFile === pipeline && o.stage === target);
    if (byStage.length > 0) return byStage.map((out) => ({ out }));
  }
  return [];
}

/** DVC's `NoOutputOrStageError` for a target no revision knows. */
export function unknownTargetError(target: string, cwd: string, root: string): DxpError {
  const rel = relative(cwd, resolve(root, "dvc.yaml")).split(sep).join("/");
  return new DxpError(
    "UnknownTarget",
    `'${target}' does not exist as an output or a stage name in '${rel}'`,
    ExitCode.failure,
    { data: { target } },
  );
}

/** A path typed relative to `cwd`, as a project-relative `/` path (`""` for the root). */
function projectPath(root: string, cwd: string, path: string): string {
  const rel = relative(root, resolve(cwd, path));
  if (rel === "") return "";
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new InvalidArgumentError(`'${path}' is outside the DVC project '${root}'.`);
  }
  return rel.split(sep).join("/");
}
