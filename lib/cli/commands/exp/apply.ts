import { Command } from "@commander-js/extra-typings";
import type { Project } from "../../../project/project.ts";
import { runLocked, type RunState, withCommonOptions } from "../../command_kit.ts";
import type { CliContext } from "../../context.ts";
import { skippedWarning } from "../checkout.ts";

/** `dxp exp apply EXP`: bring an experiment's files and data into the workspace. */
export function expApplyCommand(state: RunState) {
  return withCommonOptions(
    new Command("apply")
      .description(
        "Apply an experiment's changes to the workspace (HEAD does not move); " +
          "uncommitted changes are saved in refs/exps/apply/stash.",
      )
      .argument("<experiment>", "experiment name, full refs/exps/… ref or commit"),
  )
    .action((experiment, _opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        await applyAndReport(ctx, project, experiment, experiment);
        return 0;
      })
    );
}

/**
 * Applies `rev` and prints what `exp apply` prints (`shown` is the name in
 * the final line): shared by `exp apply`, `exp pull --apply` and
 * `exp import --apply`.
 */
export async function applyAndReport(
  ctx: CliContext,
  project: Project,
  rev: string,
  shown: string,
): Promise<void> {
  const { expApply, APPLY_STASH } = await import("../../../engine/exp/apply.ts");
  const result = await expApply(project, {
    rev,
    checkout: { cwd: ctx.cwd, signal: ctx.signal },
  });
  if (result.saved.length > 0) ctx.err(`${savedNote(result.saved, APPLY_STASH)}\n`);
  if (result.checkout.skipped.length > 0) {
    ctx.err(`${skippedWarning(result.checkout.skipped)}\n`);
  }
  ctx.out(`Changes for experiment '${shown}' have been applied to your current workspace.\n`);
}

/**
 * Says where the changed outputs `exp apply` replaced went (DVC overwrites
 * them without a copy) and how to get them back.
 */
function savedNote(paths: readonly string[], stash: string): string {
  const names = paths.map((p) => `'${p}'`).join(", ");
  return `Your changes to ${names} were saved in the DVC cache and recorded in ${stash}; ` +
    `to get them back: 'git stash apply ${stash}' on a clean work tree, then 'dxp checkout'.`;
}
