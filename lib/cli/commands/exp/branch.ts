import { Command } from "@commander-js/extra-typings";
import { runLocked, type RunState, withCommonOptions } from "../../command_kit.ts";

/** `dxp exp branch EXP [BRANCH]`: make a Git branch from an experiment. */
export function expBranchCommand(state: RunState) {
  return withCommonOptions(
    new Command("branch")
      .description("Promote an experiment to a Git branch (the workspace is not touched).")
      .argument("<experiment>", "experiment name, full refs/exps/… ref or commit")
      .argument("[branch]", "name for the new Git branch (default '<experiment name>-branch')"),
  )
    .action((experiment, branch, _opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { expBranch, expBranchMessage } = await import("../../../engine/exp/branch.ts");
        const result = await expBranch(project, { rev: experiment, branch });
        ctx.out(`${expBranchMessage(result)}\n`);
        return 0;
      })
    );
}
