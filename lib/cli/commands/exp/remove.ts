import { Command } from "@commander-js/extra-typings";
import { humanJoin, pyRepr } from "../../../util/mod.ts";
import {
  collect,
  parseIntOption,
  runLocked,
  type RunState,
  withCommonOptions,
} from "../../command_kit.ts";
import { transportOpener } from "../../transport_opener.ts";

/** `dxp exp remove [-g GIT_REMOTE] [EXP…]` (alias `rm`). */
export function expRemoveCommand(state: RunState) {
  return withCommonOptions(
    new Command("remove")
      .alias("rm")
      .description(
        "Remove experiments locally, or on a Git remote with -g (data on DVC remotes is kept).",
      )
      .argument("[experiment...]", "names or full refs/exps/… refs"),
  )
    .option("-A, --all-commits", "remove all experiments")
    .option("--rev <commit>", "remove experiments derived from this baseline (repeatable)", collect)
    .option(
      "-n, --num <num>",
      "also take this many first-parent ancestors of each --rev (negative: all)",
      parseIntOption,
      1,
    )
    .option("-g, --git-remote <git_remote>", "remove on this Git remote instead of locally")
    .option("--keep", "remove every experiment except the selected ones")
    .action((names, opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const { expRemove } = await import("../../../engine/exp/remove.ts");
        const result = await expRemove(project, {
          names,
          allCommits: opts.allCommits ?? false,
          revs: opts.rev ?? [],
          num: opts.num,
          keep: opts.keep ?? false,
          ...(opts.gitRemote !== undefined ? { gitRemote: opts.gitRemote } : {}),
          openTransport: await transportOpener(project, ctx),
          signal: ctx.signal,
        });
        for (const r of result.rejected) {
          ctx.err(
            `Git remote ${pyRepr(opts.gitRemote ?? "")} refused to remove ${
              pyRepr(r.label)
            }: ${r.reason}\n`,
          );
        }
        ctx.out(
          result.removed.length > 0
            ? `Removed experiments: ${humanJoin(result.removed.map(pyRepr))}\n`
            : "No experiments to remove.\n",
        );
        return result.rejected.length > 0 ? 1 : 0;
      })
    );
}
