import { Command } from "@commander-js/extra-typings";
import { expBranch, expBranchMessage } from "../../../engine/exp_branch.ts";
import { acquireRepoLock } from "../../../project/repo_lock.ts";
import { openProject } from "../../../project/project.ts";
import { type RunState, runWith, withCommonOptions } from "../../command_kit.ts";

/** `dxp exp branch EXP [BRANCH]`: make a Git branch from an experiment. */
export function expBranchCommand(state: RunState) {
  return withCommonOptions(
    new Command("branch")
      .description("Promote an experiment to a Git branch (the workspace is not touched).")
      .argument("<experiment>", "experiment name, full refs/exps/… ref or commit")
      .argument("[branch]", "name for the new Git branch (default '<experiment name>-branch')"),
  )
    .action((experiment, branch, _opts, command) =>
      runWith(state, command, async (ctx, flags) => {
        const project = openProject(ctx.cwd, ctx.env);
        const lock = await acquireRepoLock(project.dvcDir, {
          wait: flags.waitForLock ?? false,
          signal: ctx.signal,
        });
        try {
          const result = await expBranch(project, { rev: experiment, branch });
          ctx.out(`${expBranchMessage(result)}\n`);
          return 0;
        } finally {
          lock.release();
        }
      })
    );
}
