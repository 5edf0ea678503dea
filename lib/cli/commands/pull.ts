import { checkout, checkoutFailedMessage } from "../../engine/checkout.ts";
import { dataFetch } from "../../engine/data_sync.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { acquireRepoLock } from "../../project/repo_lock.ts";
import { openProject } from "../../project/project.ts";
import { type RunState, runWith } from "../command_kit.ts";
import { progressDisplay } from "../render/progress.ts";
import { renderCheckout } from "./checkout.ts";
import { dataCommand, dataFlags } from "./data_options.ts";

/** `dxp pull [TARGETS…]`: fetch, then check out the work tree's outputs (DVC's `pull`). */
export function pullCommand(state: RunState) {
  return dataCommand("pull", "Download tracked outputs from DVC remote storage and check them out.")
    .option("-f, --force", "overwrite or remove workspace files whose content is not in the cache")
    .action((targets, opts, command) =>
      runWith(state, command, async (ctx, flags) => {
        const project = openProject(ctx.cwd, ctx.env);
        const lock = await acquireRepoLock(project.dvcDir, {
          wait: flags.waitForLock ?? false,
          signal: ctx.signal,
        });
        const progress = progressDisplay(ctx, opts.progress);
        try {
          const fetched = await dataFetch(project, {
            ...dataFlags(targets, opts),
            signal: ctx.signal,
            onProgress: (p) => progress.update(p),
            onDebug: (line) => ctx.debug(line),
          });
          progress.stop();
          for (const warning of fetched.warnings) ctx.err(`${warning}\n`);
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
          const parts: string[] = [];
          if (fetched.transferred > 0) {
            parts.push(`${fetched.transferred} ${plural(fetched.transferred)} fetched`);
          }
          if (added > 0) parts.push(`${added} ${plural(added)} added`);
          ctx.out(parts.length > 0 ? `${parts.join(" and ")}\n` : "Everything is up to date.\n");
          if (result.failed.length > 0) {
            throw new DxpError(
              "CheckoutFailed",
              `failed to pull data from the cloud - ${checkoutFailedMessage(result.failed)}`,
              ExitCode.partial,
            );
          }
          return fetched.failed > 0 || fetched.missing.length > 0 ? 1 : 0;
        } finally {
          progress.stop();
          lock.release();
        }
      })
    );
}

function plural(n: number): string {
  return n === 1 ? "file" : "files";
}
