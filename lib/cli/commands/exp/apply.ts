import { Command } from "@commander-js/extra-typings";
import { expApply } from "../../../engine/exp/apply.ts";
import { runLocked, type RunState, withCommonOptions } from "../../command_kit.ts";
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
        const result = await expApply(project, {
          rev: experiment,
          checkout: { cwd: ctx.cwd, signal: ctx.signal },
        });
        for (const warning of result.checkout.warnings) ctx.err(`WARNING: ${warning}\n`);
        if (result.checkout.skipped.length > 0) {
          ctx.err(`${skippedWarning(result.checkout.skipped)}\n`);
        }
        ctx.out(
          `Changes for experiment '${experiment}' have been applied to your current workspace.\n`,
        );
        return 0;
      })
    );
}
