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

/** The top-level commands, by every name they answer to. */
const COMMANDS: readonly { names: readonly string[]; make: (state: RunState) => unknown }[] = [
  { names: ["exp", "experiments"], make: expCommand },
  { names: ["push"], make: pushCommand },
  { names: ["fetch"], make: fetchCommand },
  { names: ["pull"], make: pullCommand },
  { names: ["checkout"], make: checkoutCommand },
  { names: ["status"], make: statusCommand },
  { names: ["remote"], make: remoteCommand },
];

/**
 * Builds the command tree. `state` receives the exit code of the command
 * that ran. With `only` (a top-level command's name), just that command
 * under the root: building every command's options is a few ms of each
 * start; the root's help, suggestions and completion need the whole tree.
 */
export function createProgram(state: RunState, only?: string): Command {
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
  const wanted = only === undefined ? undefined : COMMANDS.find((c) => c.names.includes(only));
  for (const command of wanted === undefined ? COMMANDS : [wanted]) {
    program.addCommand(command.make(state) as Command);
  }
  if (wanted === undefined) {
    tab(program as unknown as Parameters<typeof tab>[0], { completionCommandName: "completion" });
  }
  return program as unknown as Command;
}

/**
 * The top-level command `argv` runs, when that is all the program needs:
 * undefined (the whole tree) for the root's own options (help, version),
 * `help`, `completion`, or a word that is no command. Shared options may
 * come first; `--cd` (or a prefix of it) takes the next word as its value.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return undefined;
    if (arg.startsWith("--")) {
      const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
      if ("--help".startsWith(name) || "--version".startsWith(name)) return undefined;
      if (!arg.includes("=") && name.length > 2 && "--cd".startsWith(name)) i++;
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      if (/[hV]/.test(arg.slice(1))) return undefined;
      continue;
    }
    return COMMANDS.some((c) => c.names.includes(arg)) ? arg : undefined;
  }
  return undefined;
}
