import { dataPush } from "../../engine/data_sync.ts";
import { acquireRepoLock } from "../../project/repo_lock.ts";
import { openProject } from "../../project/project.ts";
import { type RunState, runWith } from "../command_kit.ts";
import { progressDisplay } from "../render/progress.ts";
import { dataCommand, dataFlags } from "./data_options.ts";

/** `dxp push [TARGETS…]`: DVC's `push` of the work tree's (and revisions') outputs. */
export function pushCommand(state: RunState) {
  return dataCommand("push", "Upload tracked outputs from the local cache to DVC remote storage.")
    .action(
      (targets, opts, command) =>
        runWith(state, command, async (ctx, flags) => {
          const project = openProject(ctx.cwd, ctx.env);
          const lock = await acquireRepoLock(project.dvcDir, {
            wait: flags.waitForLock ?? false,
            signal: ctx.signal,
          });
          const progress = progressDisplay(ctx, opts.progress);
          try {
            const report = await dataPush(project, {
              ...dataFlags(targets, opts),
              signal: ctx.signal,
              onProgress: (p) => progress.update(p),
              onDebug: (line) => ctx.debug(line),
            });
            progress.stop();
            for (const warning of report.warnings) ctx.err(`${warning}\n`);
            const n = report.transferred;
            ctx.out(
              n > 0 ? `${n} ${n === 1 ? "file" : "files"} pushed\n` : "Everything is up to date.\n",
            );
            return report.failed > 0 || report.missing.length > 0 ? 1 : 0;
          } finally {
            progress.stop();
            lock.release();
          }
        }),
    );
}
