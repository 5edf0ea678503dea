import { Command } from "@commander-js/extra-typings";
import type { CheckoutResult } from "../../engine/checkout/types.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { runLocked, type RunState, withCommonOptions } from "../command_kit.ts";
import type { CliContext } from "../context.ts";

/** `dxp checkout [TARGETS…]`: DVC's checkout of tracked outputs from the local cache. */
export function checkoutCommand(state: RunState) {
  return withCommonOptions(
    new Command("checkout")
      .description("Materialise tracked outputs from the local cache into the workspace.")
      .argument(
        "[targets...]",
        "limit to these tracked files/directories, .dvc files and stage names",
      ),
  )
    .option("-f, --force", "overwrite or remove workspace files whose content is not in the cache")
    .option("--relink", "recreate links or copies from the cache to the workspace")
    .option("--allow-missing", "ignore outputs whose objects are missing from the cache")
    .action((targets, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { checkout, checkoutFailedMessage } = await import(
          "../../engine/checkout/checkout.ts"
        );
        const result = await checkout(project, {
          targets,
          cwd: ctx.cwd,
          force: opts.force ?? false,
          relink: opts.relink ?? false,
          signal: ctx.signal,
        });
        renderCheckout(ctx, result);
        if (result.failed.length > 0 && !opts.allowMissing) {
          throw new DxpError(
            "CheckoutFailed",
            checkoutFailedMessage(result.failed),
            ExitCode.failure,
            {
              data: { failed: result.failed },
            },
          );
        }
        if (opts.relink) ctx.out("Relinked successfully\n");
        return 0;
      })
    );
}

/**
 * Prints a checkout result as DVC does: `M`, then `A`, then `D` lines
 * (letter, 7 spaces, path; folders end in `/`), after the skipped
 * `push: false` outputs.
 */
export function renderCheckout(ctx: CliContext, result: CheckoutResult): void {
  if (result.helperFiles > 0) {
    ctx.debug(`checkout: ${result.helperFiles} files written by a second thread`);
  }
  if (result.helperLookups > 0) {
    ctx.debug(`checkout: ${result.helperLookups} files looked up by a second thread`);
  }
  if (result.skipped.length > 0) ctx.err(`${skippedWarning(result.skipped)}\n`);
  for (
    const [letter, paths] of [["M", result.modified], ["A", result.added], [
      "D",
      result.deleted,
    ]] as const
  ) {
    for (const path of paths) ctx.out(`${letter}       ${path}\n`);
  }
}

/** One line for `push: false` outputs that were not checked out because the cache lacks them. */
export function skippedWarning(paths: readonly string[]): string {
  const names = paths.map((p) => `'${p}'`).join(", ");
  return paths.length === 1
    ? `WARNING: ${names} is not in the local cache and is never pushed ('push: false'); it was not checked out.`
    : `WARNING: ${names} are not in the local cache and are never pushed ('push: false'); they were not checked out.`;
}
