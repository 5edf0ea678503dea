import { expPush } from "../../../engine/exp_push.ts";
import { acquireRepoLock } from "../../../project/repo_lock.ts";
import { openProject } from "../../../project/project.ts";
import { type RunState, runWith } from "../../command_kit.ts";
import { expSyncJson, renderExpPush } from "../../render/exp_sync.ts";
import { transportOpener } from "../../transport_opener.ts";
import { dataSyncFor } from "../../data_sync.ts";
import { syncCommand } from "./sync_options.ts";

/** `dxp exp push GIT_REMOTE [EXP…]`. */
export function expPushCommand(state: RunState) {
  return syncCommand(
    "push",
    "Push experiments: their data to DVC remote storage, then their refs to a Git remote.",
  )
    .option(
      "--allow-missing",
      "push refs even when some of their data is missing from the DVC remote",
    )
    .action((gitRemote, names, opts, command) =>
      runWith(state, command, async (ctx, flags) => {
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
          const result = await expPush(project, {
            gitRemote,
            names,
            allCommits: opts.allCommits ?? false,
            revs: opts.rev ?? [],
            num: opts.num,
            force: opts.force ?? false,
            allowMissing: opts.allowMissing ?? false,
            dryRun: opts.dryRun ?? false,
            ...(data ? { data } : {}),
            openTransport: transportOpener(project, ctx),
            signal: ctx.signal,
            onDebug: (line) => ctx.debug(line),
          }).finally(async () => {
            sync?.progress.stop();
            await sync?.data.close();
          });
          if (opts.json) {
            ctx.out(`${JSON.stringify(expSyncJson(result, "push"), null, 2)}\n`);
            return result.entries.some((e) => e.status !== "success" && e.status !== "up_to_date")
              ? 1
              : 0;
          }
          const rendered = renderExpPush(result, !opts.cache);
          ctx.err(rendered.stderr);
          ctx.out(rendered.stdout);
          return rendered.exitCode;
        } finally {
          lock.release();
        }
      })
    );
}
