import { DxpError, ExitCode } from "../../errors/mod.ts";
import { runLocked, type RunState } from "../command_kit.ts";
import { renderCheckout } from "./checkout.ts";
import { countLine, dataCommand, dataExitCode, runDataVerb } from "./data_options.ts";

/** `dxp pull [TARGETS…]`: fetch, then check out the work tree's outputs (DVC's `pull`). */
export function pullCommand(state: RunState) {
  return dataCommand("pull", "Download tracked outputs from DVC remote storage and check them out.")
    .option("-f, --force", "overwrite or remove workspace files whose content is not in the cache")
    .action((targets, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { dataFetch } = await import("../../engine/data/sync.ts");
        const { checkout, checkoutFailedMessage } = await import(
          "../../engine/checkout/checkout.ts"
        );
        const fetched = await runDataVerb(
          ctx,
          project,
          targets,
          opts,
          (p, flags, options) => dataFetch(p, flags, { ...options, command: "pull" }),
        );
        // `push: false` outputs cannot be on the remote: skipped, not failures.
        const result = await checkout(project, {
          targets,
          cwd: ctx.cwd,
          force: opts.force ?? false,
          skipUnpushable: true,
          signal: ctx.signal,
        });
        renderCheckout(ctx, result);
        const added = Object.values(result.linked).reduce((sum, n) => sum + n, 0);
        // DVC's summary: "23 files fetched and 22 files added".
        const parts = [
          ...(fetched.transferred > 0 ? [countLine(fetched.transferred, "fetched").trim()] : []),
          ...(added > 0 ? [countLine(added, "added").trim()] : []),
        ];
        ctx.out(parts.length > 0 ? `${parts.join(" and ")}\n` : "Everything is up to date.\n");
        if (result.failed.length > 0) {
          throw new DxpError(
            "CheckoutFailed",
            `failed to pull data from the cloud - ${checkoutFailedMessage(result.failed)}`,
            ExitCode.partial,
          );
        }
        return dataExitCode(fetched);
      })
    );
}
