import process from "node:process";
import { resolve } from "node:path";

/**
 * Everything a command needs from the outside world: where to write, how
 * chatty to be, where it runs. Commands never touch `console` or
 * `process.exit` directly, so tests can run them in-process.
 */
export interface CliContext {
  /** Writes to stdout unless quiet. */
  out(text: string): void;
  /** Writes to stderr (warnings, errors; shown even when quiet, as DVC does for ui.warn). */
  err(text: string): void;
  /** Writes a debug line to stderr when verbose. */
  debug(text: string): void;
  readonly quiet: boolean;
  readonly verbose: number;
  /** Working directory (after `--cd`). */
  readonly cwd: string;
  /** Environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when stderr is a terminal (progress bars redraw only then). */
  readonly stderrIsTty: boolean;
  readonly signal: AbortSignal;
}

export interface GlobalFlags {
  quiet?: boolean;
  verbose?: number;
  cd?: string;
}

/** Builds the process context from the global flags. */
export function makeContext(flags: GlobalFlags, signal: AbortSignal): CliContext {
  const quiet = flags.quiet ?? false;
  const verbose = flags.verbose ?? 0;
  const cwd = flags.cd ? resolveCd(flags.cd) : process.cwd();
  return {
    out: (text) => {
      if (!quiet) process.stdout.write(text);
    },
    err: (text) => {
      if (!quiet) process.stderr.write(text);
    },
    debug: (text) => {
      if (verbose > 0 && !quiet) process.stderr.write(`DEBUG: ${text}\n`);
    },
    quiet,
    verbose,
    cwd,
    env: process.env,
    stderrIsTty: Boolean(process.stderr.isTTY),
    signal,
  };
}

function resolveCd(dir: string): string {
  // Resolved against the real cwd; `process.chdir` is avoided so library code
  // never depends on global process state.
  return resolve(process.cwd(), dir);
}
