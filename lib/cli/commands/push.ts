import { runLocked, type RunState } from "../command_kit.ts";
import { countLine, dataCommand, dataExitCode, runDataVerb } from "./data_options.ts";

/** `dxp push [TARGETS…]`: DVC's `push` of the work tree's (and revisions') outputs. */
export function pushCommand(state: RunState) {
  return dataCommand("push", "Upload tracked outputs from the local cache to DVC remote storage.")
    .action((targets, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { dataPush } = await import("../../engine/data/sync.ts");
        const report = await runDataVerb(ctx, project, targets, opts, dataPush);
        ctx.out(countLine(report.transferred, "pushed"));
        return dataExitCode(report);
      })
    );
}
