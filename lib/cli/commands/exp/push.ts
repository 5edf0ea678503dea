import { runLocked, type RunState } from "../../command_kit.ts";
import { runExpSync } from "../../data_sync.ts";
import { expSyncJson, renderExpPush } from "../../render/exp_sync.ts";
import { syncCommand } from "./sync_options.ts";

/** `dxp exp push GIT_REMOTE [EXP…]`. */
export function expPushCommand(state: RunState) {
  return syncCommand(
    "push",
    "Push experiments: their data to DVC remote storage, then their refs to a Git remote.",
  )
    .action((gitRemote, names, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const result = await runExpSync(
          project,
          ctx,
          "exp push",
          gitRemote,
          names,
          opts,
          async (common) => {
            const { expPush } = await import("../../../engine/exp/push.ts");
            return expPush(project, { ...common, allowMissing: opts.allowMissing ?? false });
          },
        );
        const rendered = renderExpPush(result, !opts.cache);
        if (opts.json) {
          ctx.out(`${JSON.stringify(expSyncJson(result, "push"), null, 2)}\n`);
        } else {
          ctx.err(rendered.stderr);
          ctx.out(rendered.stdout);
        }
        return rendered.exitCode;
      })
    );
}
