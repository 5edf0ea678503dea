import { UsageError } from "../../../errors/mod.ts";
import { runLocked, type RunState } from "../../command_kit.ts";
import { runExpSync } from "../../data_sync.ts";
import { expSyncJson, renderExpPull } from "../../render/exp_sync.ts";
import { applyAndReport } from "./apply.ts";
import { syncCommand } from "./sync_options.ts";

/** `dxp exp pull GIT_REMOTE [EXP…]` (with `--apply`: then `exp apply` it). */
export function expPullCommand(state: RunState) {
  return syncCommand(
    "pull",
    "Pull experiments: their refs from a Git remote, then their data into the local cache.",
  )
    .option("--apply", "then apply the pulled experiment to the workspace (exactly one experiment)")
    .action((gitRemote, names, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        if (opts.apply && names.length !== 1) {
          throw new UsageError("--apply needs exactly one experiment name or ref.");
        }
        const result = await runExpSync(
          project,
          ctx,
          "exp pull",
          gitRemote,
          names,
          opts,
          async (common) => (await import("../../../engine/exp/pull.ts")).expPull(project, common),
        );
        const rendered = renderExpPull(result, !opts.cache, opts.allowMissing ?? false);
        if (opts.json) {
          ctx.out(`${JSON.stringify(expSyncJson(result, "pull"), null, 2)}\n`);
          return rendered.exitCode;
        }
        ctx.err(rendered.stderr);
        ctx.out(rendered.stdout);
        const pulled = result.entries.find((e) =>
          e.status === "success" || e.status === "up_to_date"
        );
        if (opts.apply && pulled && rendered.exitCode === 0 && !result.dryRun) {
          await applyAndReport(ctx, project, pulled.ref, names[0]!);
        }
        return rendered.exitCode;
      })
    );
}
