import process from "node:process";
import { CommanderError } from "@commander-js/extra-typings";
import { ExitCode } from "../errors/mod.ts";
import { createProgram } from "./program.ts";
import type { RunState } from "./command_kit.ts";
import { describeError } from "./errors.ts";

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
  const quiet = argv.includes("-q") || argv.includes("--quiet");
  const program = createProgram(state);
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
    await program.parseAsync(argv, { from: "user" });
    return interrupted ? ExitCode.interrupted : state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // "commander.help" is a command group run without a subcommand: usage error, as DVC.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
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
