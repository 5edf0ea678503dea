import process from "node:process";
import { CommanderError } from "@commander-js/extra-typings";
import { DxpError, ExitCode } from "../errors/mod.ts";
import { commandWord, createProgram } from "./program.ts";
import type { RunState } from "./command_kit.ts";
import { describeError } from "./errors.ts";
import { normalizeArgv } from "./normalize_argv.ts";

/**
 * Runs dxp with `argv` (without the executable) and returns the exit code.
 * The only place that turns errors into text; `cli.ts` only exits with it.
 */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const state: RunState = { exitCode: ExitCode.ok, signal: controller.signal };
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    controller.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const program = createProgram(state, commandWord(argv));
  // DVC's spellings (abbreviated long options, shared options before the
  // command words) rewritten into the one form commander parses.
  const normalized = normalizeArgv(program, argv);
  const quiet = normalized.quiet;
  if (normalized.error !== undefined) {
    if (!quiet) process.stderr.write(`ERROR: ${normalized.error}\n`);
    return ExitCode.usage;
  }
  const output = {
    writeErr: (text: string) => {
      if (!quiet) process.stderr.write(text);
    },
    outputError: (text: string, write: (text: string) => void) =>
      write(text.replace(/^error: /, "ERROR: ")),
  };
  // Subcommands do not inherit these settings when added with addCommand.
  applyRecursively(program, (cmd) => {
    cmd.exitOverride();
    cmd.configureOutput(output);
  });
  try {
    await program.parseAsync(normalized.argv, { from: "user" });
    return interrupted ? ExitCode.interrupted : state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // "commander.help" with exit code 1 is a command group run without a
      // subcommand: a usage error, as DVC; `dxp help <command>` asked for it.
      const asked = error.code === "commander.help" && error.exitCode === 0;
      if (asked || error.code === "commander.helpDisplayed" || error.code === "commander.version") {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    if (interrupted) {
      if (!quiet) process.stderr.write("ERROR: interrupted by the user\n");
      return ExitCode.interrupted;
    }
    const { line, exitCode } = describeError(error);
    if (!quiet) process.stderr.write(`${line}\n`);
    // DVC's config messages name the line, not the file: -v names it.
    const file = error instanceof DxpError ? error.data["file"] : undefined;
    if (!quiet && normalized.verbose > 0 && typeof file === "string") {
      process.stderr.write(`DEBUG: in the config file '${file}'\n`);
    }
    if (process.env["DXP_SHOW_TRACEBACK"] && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
    return exitCode;
  }
  // The signal handlers stay installed: removing them lets a late second
  // Ctrl-C (or the runtime re-raising the first) kill the process with the
  // signal instead of exiting with DVC's code 252.
}

interface CommandNode {
  commands: readonly unknown[];
  exitOverride(): unknown;
  configureOutput(output: object): unknown;
}

function applyRecursively(cmd: CommandNode, fn: (cmd: CommandNode) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) {
    applyRecursively(sub as typeof cmd, fn);
  }
}
