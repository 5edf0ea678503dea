import { expApply } from "../../../engine/exp_apply.ts";
import { expPull } from "../../../engine/exp_pull.ts";
import { InvalidArgumentError } from "../../../errors/mod.ts";
import { acquireRepoLock } from "../../../project/repo_lock.ts";
import { openProject } from "../../../project/project.ts";
import { type RunState, runWith } from "../../command_kit.ts";
import { expSyncJson, renderExpPull } from "../../render/exp_sync.ts";
import { transportOpener } from "../../transport_opener.ts";
import { dataSyncFor } from "../../data_sync.ts";
import { skippedWarning } from "../checkout.ts";
import { syncCommand } from "./sync_options.ts";

/** `dxp exp pull GIT_REMOTE [EXP…]`. */
export function expPullCommand(state: RunState) {
  return syncCommand(
    "pull",
    "Pull experiments: their refs from a Git remote, then their data into the local cache.",
  )
    .option("--apply", "then apply the pulled experiment to the workspace (exactly one experiment)")
    .action((gitRemote, names, opts, command) =>
      runWith(state, command, async (ctx, flags) => {
        if (opts.apply && names.length !== 1) {
          throw new InvalidArgumentError("--apply needs exactly one experiment name or ref.");
        }
        const project = openProject(ctx.cwd, ctx.env);
        const lock = await acquireRepoLock(project.dvcDir, {
          wait: flags.waitForLock ?? false,
          signal: ctx.signal,
        });
        try {
          const sync = opts.cache && !opts.dryRun
            ? await dataSyncFor(project, ctx, {
              ...(opts.remote !== undefined ? { remote: opts.remote } : {}),
              ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
              runCache: opts.runCache ?? false,
              progress: opts.progress && !opts.json,
            })
            : undefined;
          const data = sync?.data;
          const result = await expPull(project, {
            gitRemote,
            names,
            allCommits: opts.allCommits ?? false,
            revs: opts.rev ?? [],
            num: opts.num,
            force: opts.force ?? false,
            dryRun: opts.dryRun ?? false,
            ...(data ? { data } : {}),
            openTransport: transportOpener(project, ctx),
            signal: ctx.signal,
            onDebug: (line) => ctx.debug(line),
          }).finally(async () => {
            sync?.progress.stop();
            await sync?.data.close();
          });
          const rendered = renderExpPull(result, !opts.cache);
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
            const applied = await expApply(project, {
              rev: pulled.ref,
              checkout: { cwd: ctx.cwd, signal: ctx.signal },
            });
            for (const warning of applied.checkout.warnings) ctx.err(`WARNING: ${warning}\n`);
            if (applied.checkout.skipped.length > 0) {
              ctx.err(`${skippedWarning(applied.checkout.skipped)}\n`);
            }
            ctx.out(
              `Changes for experiment '${names[0]}' have been applied to your current workspace.\n`,
            );
          }
          return rendered.exitCode;
        } finally {
          lock.release();
        }
      })
    );
}
