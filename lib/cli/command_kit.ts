import { join } from "node:path";
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { CliContext, GlobalFlags } from "./context.ts";
import { makeContext } from "./context.ts";
import { openProject, type Project } from "../project/project.ts";
import { loadDvcConfig } from "../project/dvc_config/mod.ts";
import { acquireRepoLock } from "../project/repo_lock.ts";
import { VERSION } from "./version.ts";

/** Shared mutable state of one CLI run: the exit code and the abort signal. */
export interface RunState {
  exitCode: number;
  readonly signal: AbortSignal;
}

/**
 * Adds DVC's per-command options (`-q`, `-v`, `--cd`, `--wait-for-lock`) to a
 * leaf command. They are read back untyped through `globalFlagsOf`, so the
 * command's own typed options and arguments stay intact.
 */
export function withCommonOptions<C extends { addOption(option: Option): unknown }>(cmd: C): C {
  cmd.addOption(new Option("-q, --quiet", "be quiet: print nothing but the exit code"));
  cmd.addOption(
    new Option("-v, --verbose", "be verbose (repeat for more)").argParser(
      (_value: string | undefined, previous: number | undefined) => (previous ?? 0) + 1,
    ),
  );
  cmd.addOption(new Option("--cd <dir>", "run as if started in <dir>"));
  cmd.addOption(new Option("--wait-for-lock", "wait for the repository lock instead of failing"));
  return cmd;
}

/** The global flags as seen from a leaf command (its own plus the root's). */
export function globalFlagsOf(cmd: { optsWithGlobals(): Record<string, unknown> }): GlobalFlags & {
  waitForLock?: boolean;
} {
  const all = cmd.optsWithGlobals();
  const flags: GlobalFlags & { waitForLock?: boolean } = {};
  if (all["quiet"] === true) flags.quiet = true;
  if (typeof all["verbose"] === "number") flags.verbose = all["verbose"];
  if (typeof all["cd"] === "string") flags.cd = all["cd"];
  if (all["waitForLock"] === true) flags.waitForLock = true;
  return flags;
}

/**
 * Wraps a command body: builds the context, runs it and records the exit
 * code. Errors propagate to `main`, which renders them.
 */
export async function runWith(
  state: RunState,
  cmd: { optsWithGlobals(): Record<string, unknown> },
  body: (ctx: CliContext, flags: ReturnType<typeof globalFlagsOf>) => Promise<number | void>,
): Promise<void> {
  const flags = globalFlagsOf(cmd);
  const ctx = makeContext(flags, state.signal);
  if (ctx.verbose > 0) {
    // Loaded for this line only: it opens libc, ~1.5 ms of every start otherwise.
    const { quickLstatSource } = await import("../util/quick_lstat.ts");
    ctx.debug(
      `dxp ${VERSION}, working directory '${ctx.cwd}', file stats by ${quickLstatSource()}`,
    );
  }
  state.exitCode = (await body(ctx, flags)) ?? 0;
}

function lockPath(dvcDir: string): string {
  return join(dvcDir, "tmp", "lock");
}

/** Parses an integer option value, rejecting garbage with a usage error. */
export function parseIntOption(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) {
    throw new InvalidArgumentError(`invalid integer value: '${value}'`);
  }
  return Number.parseInt(value, 10);
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Opens the project containing the working directory and reads its DVC
 * config once, as DVC does when it opens a repository: a config file that
 * cannot be read stops every command with a configuration error (251)
 * before it looks at anything else.
 */
export async function openCheckedProject(ctx: CliContext): Promise<Project> {
  const project = openProject(ctx.cwd, ctx.env);
  await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  return project;
}

/**
 * Like `runWith`, for commands that change the repository: opens the project
 * (config checked) and holds DVC's repository lock (`--wait-for-lock` waits)
 * for the body.
 */
export function runLocked(
  state: RunState,
  cmd: { optsWithGlobals(): Record<string, unknown> },
  body: (ctx: CliContext, project: Project) => Promise<number | void>,
): Promise<void> {
  return runWith(state, cmd, async (ctx, flags) => {
    const project = await openCheckedProject(ctx);
    const lock = await acquireRepoLock(project.dvcDir, {
      wait: flags.waitForLock ?? false,
      signal: ctx.signal,
      onWait: (holder) =>
        ctx.debug(
          `waiting for the repository lock '${lockPath(project.dvcDir)}'${
            holder === undefined ? "" : ` held by process ${holder}`
          }`,
        ),
    });
    ctx.debug(`acquired the repository lock '${lockPath(project.dvcDir)}'`);
    try {
      return await body(ctx, project);
    } finally {
      lock.release();
    }
  });
}
