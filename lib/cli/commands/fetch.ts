import { runLocked, type RunState } from "../command_kit.ts";
import { countLine, dataCommand, dataExitCode, runDataVerb } from "./data_options.ts";

/** `dxp fetch [TARGETS…]`: DVC's `fetch` into the local cache (no checkout). */
export function fetchCommand(state: RunState) {
  return dataCommand(
    "fetch",
    "Download tracked outputs from DVC remote storage into the local cache.",
  )
    .action((targets, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { dataFetch } = await import("../../engine/data/sync.ts");
        const report = await runDataVerb(ctx, project, targets, opts, dataFetch);
        ctx.out(countLine(report.transferred, "fetched"));
        return dataExitCode(report);
      })
    );
}
