import { InvalidArgumentError } from "../../errors/mod.ts";
import { openProject } from "../../project/project.ts";
import { Command } from "@commander-js/extra-typings";
import { type RunState, runWith, withCommonOptions } from "../command_kit.ts";

/** `dxp status -c`: what the DVC remote lacks or has beyond the local cache. */
export function statusCommand(state: RunState) {
  return withCommonOptions(
    new Command("status").description("Compare the local cache with DVC remote storage (-c)."),
  )
    .option("-c, --cloud", "compare the local cache with the remote")
    .option("-r, --remote <name>", "DVC remote to compare with instead of the default")
    .option("--json", "print the result as JSON")
    .action((opts, command) =>
      runWith(state, command, async (ctx) => {
        if (!opts.cloud && opts.remote === undefined) {
          throw new InvalidArgumentError(
            "dxp status only compares the cache with a DVC remote: use -c/--cloud (pipeline status needs DVC).",
          );
        }
        const project = openProject(ctx.cwd, ctx.env);
        const { cloudStatus } = await import("../../engine/data/status.ts");
        const status = await cloudStatus(project, {
          ...(opts.remote !== undefined ? { remoteName: opts.remote.toLowerCase() } : {}),
          signal: ctx.signal,
          onDebug: (line) => ctx.debug(line),
        });
        if (opts.json) {
          ctx.out(
            `${
              JSON.stringify(
                Object.fromEntries(status.changed.map((c) => [c.path, c.state])),
                null,
                2,
              )
            }\n`,
          );
        } else if (status.changed.length === 0) {
          ctx.out(`Cache and remote '${status.remote}' are in sync.\n`);
        } else {
          for (const c of status.changed) ctx.out(`\t${`${c.state}:`.padEnd(20)}${c.path}\n`);
        }
        // DVC: `-q` turns the answer into the exit code (1 = not in sync); otherwise 0.
        return ctx.quiet && status.changed.length > 0 ? 1 : 0;
      })
    );
}
