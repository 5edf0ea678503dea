import { Command } from "@commander-js/extra-typings";
import tab from "@bomb.sh/tab/commander";
import { type RunState, withCommonOptions } from "./command_kit.ts";
import { VERSION } from "./version.ts";
import { expCommand } from "./commands/exp/mod.ts";
import { remoteCommand } from "./commands/remote/mod.ts";
import { fetchCommand } from "./commands/fetch.ts";
import { checkoutCommand } from "./commands/checkout.ts";
import { pullCommand } from "./commands/pull.ts";
import { pushCommand } from "./commands/push.ts";
import { statusCommand } from "./commands/status.ts";

/** Builds the whole command tree. `state` receives the exit code of the command that ran. */
export function createProgram(state: RunState): Command {
  const program = new Command("dxp")
    .description(
      "Share DVC experiments: move experiment refs to a Git remote and their data to DVC remote storage.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    // Options before the command words belong to the root only; main.ts moves
    // the shared ones (-q, -v, --cd, --wait-for-lock) behind the command words.
    .enablePositionalOptions();
  // Listed in the root's help and completion, as DVC lists them in `dvc -h`.
  withCommonOptions(program);
  program.addCommand(expCommand(state));
  program.addCommand(pushCommand(state));
  program.addCommand(fetchCommand(state));
  program.addCommand(pullCommand(state));
  program.addCommand(checkoutCommand(state));
  program.addCommand(statusCommand(state));
  program.addCommand(remoteCommand(state));
  tab(program as unknown as Parameters<typeof tab>[0], { completionCommandName: "completion" });
  return program as unknown as Command;
}
