import { isAbsolute, relative, resolve, sep } from "node:path";
import { DxpError, ExitCode, InvalidArgumentError } from "../../errors/mod.ts";
import type { DvcOut } from "../../dvc/out.ts";

/** One output to check out, possibly only a part of a directory output. */
export interface SelectedOut {
  readonly out: DvcOut;
  /** For a target inside a directory output: that file or folder (project-relative). */
  readonly within?: string;
}

/**
 * Picks the outputs named by `targets` (relative to `cwd`) the way DVC
 * resolves checkout targets: an output path, a path inside a directory
 * output (only that part), a folder holding outputs, a `.dvc` file, a
 * `dvc.yaml`, `dvc.yaml:stage` or a stage name of the `dvc.yaml` in `cwd`.
 * A target matching nothing fails with DVC's "Did you mean `git checkout`"
 * message. No targets: every output.
 */
export function selectOuts(
  outs: readonly DvcOut[],
  targets: readonly string[] | undefined,
  root: string,
  cwd: string,
): SelectedOut[] {
  if (targets === undefined || targets.length === 0) return outs.map((out) => ({ out }));
  const chosen = new Map<DvcOut, SelectedOut>();
  const cwdRel = toProjectPath(root, cwd, ".");
  for (const target of targets) {
    const matches = match(outs, target, root, cwd, cwdRel);
    if (matches.length === 0) {
      throw new DxpError(
        "CheckoutSuggestGit",
        `Did you mean \`git checkout ${target}\`?`,
        ExitCode.failure,
        {
          cause: new Error(
            `'${target}' is not a DVC-tracked output, a '.dvc' file or a stage name`,
          ),
          data: { target },
        },
      );
    }
    for (const selected of matches) {
      const before = chosen.get(selected.out);
      // The whole output wins over a part of it.
      if (before === undefined || (before.within !== undefined && selected.within === undefined)) {
        chosen.set(selected.out, selected);
      } else if (before.within !== undefined && selected.within !== before.within) {
        chosen.set(selected.out, { out: selected.out });
      }
    }
  }
  return outs.filter((out) => chosen.has(out)).map((out) => chosen.get(out)!);
}

function match(
  outs: readonly DvcOut[],
  target: string,
  root: string,
  cwd: string,
  cwdRel: string,
): SelectedOut[] {
  const colon = target.lastIndexOf(":");
  if (colon > 0 && !isAbsolute(target.slice(colon + 1))) {
    const file = toProjectPath(root, cwd, target.slice(0, colon));
    const stage = target.slice(colon + 1);
    const found = outs.filter((o) => o.stageFile === file && o.stage === stage);
    if (found.length > 0) return found.map((out) => ({ out }));
  }
  const path = toProjectPath(root, cwd, target);
  const byFile = outs.filter((o) => o.stageFile === path);
  if (byFile.length > 0) return byFile.map((out) => ({ out }));
  const exact = outs.filter((o) => o.path === path || path === "" || o.path.startsWith(`${path}/`));
  if (exact.length > 0) return exact.map((out) => ({ out }));
  const inside = outs.find((o) => o.isDir && path.startsWith(`${o.path}/`));
  if (inside !== undefined) return [{ out: inside, within: path }];
  if (!target.includes("/")) {
    const pipeline = cwdRel === "" ? "dvc.yaml" : `${cwdRel}/dvc.yaml`;
    const byStage = outs.filter((o) => o.stageFile === pipeline && o.stage === target);
    if (byStage.length > 0) return byStage.map((out) => ({ out }));
  }
  return [];
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
