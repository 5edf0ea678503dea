import process from "node:process";
import { resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "../../../errors/mod.ts";
import { runLocked, type RunState, withCommonOptions } from "../../command_kit.ts";
import { stdoutWriter } from "./export.ts";

/** `dxp exp have -o HAVE`: what this clone has, for the sender's `exp export --have`. */
export function expHaveCommand(state: RunState) {
  return withCommonOptions(
    new Command("have")
      .description(
        "Write what this repository has (its refs' commits, the ids of its cached DVC objects) " +
          "so that 'dxp exp export --have' elsewhere sends only what is missing here.",
      ),
  )
    .requiredOption("-o, --output <file>", "file to write ('-': standard output)")
    .action((opts, command) =>
      runLocked(state, command, async (ctx, project) => {
        const toStdout = opts.output === "-";
        if (toStdout && process.stdout.isTTY) {
          throw new InvalidArgumentError(
            "Refusing to write a have file to a terminal: redirect standard output or use -o FILE.",
          );
        }
        const { expHave } = await import("../../../engine/exp/have.ts");
        const counts = await expHave(
          project,
          toStdout ? { write: stdoutWriter() } : { path: resolve(ctx.cwd, opts.output) },
        );
        (toStdout ? ctx.err : ctx.out)(
          `Wrote ${counts.commits} ${
            counts.commits === 1 ? "commit" : "commits"
          } and ${counts.objects} cached ${counts.objects === 1 ? "object" : "objects"} to ${
            toStdout ? "standard output" : `'${opts.output}'`
          }.\n`,
        );
        return 0;
      })
    );
}
