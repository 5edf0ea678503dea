import { Command } from "@commander-js/extra-typings";
import type { DataOptions } from "../../engine/data/runtime.ts";
import type { RevisionFlags } from "../../engine/data/sync.ts";
import type { PlanTransferReport } from "../../engine/data/transfer.ts";
import type { Project } from "../../project/project.ts";
import type { CliContext } from "../context.ts";
import { progressDisplay } from "../render/progress.ts";
import { collect, parseIntOption, withCommonOptions } from "../command_kit.ts";

/** Flags shared by `dxp push`, `dxp fetch` and `dxp pull` (DVC's). */
export function dataCommand(name: string, description: string) {
  return withCommonOptions(
    new Command(name)
      .description(description)
      .argument("[targets...]", "outputs, folders or stage files to limit the transfer to"),
  )
    .option("-r, --remote <name>", "DVC remote to use instead of the default")
    .option(
      "-j, --jobs <number>",
      "parallel transfers (default: the remote's jobs, else 4 × CPU count)",
      parseIntOption,
    )
    .option("-a, --all-branches", "also every local branch's outputs")
    .option("-T, --all-tags", "also every tag's outputs")
    .option("-A, --all-commits", "also the outputs of every commit (experiments excepted)")
    .option("--rev <commit>", "also this commit's outputs (repeatable)", collect)
    .option("--no-progress", "no progress output");
}

/** The parsed flags `push`, `fetch` and `pull` share. */
export interface DataFlags {
  remote?: string;
  jobs?: number;
  allBranches?: true;
  allTags?: true;
  allCommits?: true;
  rev?: string[];
  progress: boolean;
}

/**
 * Runs one data verb: what to cover (targets relative to the cwd, revisions)
 * and the one DataOptions object (`-r`, `-j`, progress); prints its warnings.
 */
export async function runDataVerb(
  ctx: CliContext,
  project: Project,
  targets: string[],
  opts: DataFlags,
  verb: (
    project: Project,
    flags: RevisionFlags,
    options: DataOptions,
  ) => Promise<PlanTransferReport>,
): Promise<PlanTransferReport> {
  const progress = await progressDisplay(ctx, opts.progress);
  try {
    const report = await verb(
      project,
      {
        targets: { paths: targets, cwd: ctx.cwd },
        revs: opts.rev ?? [],
        allBranches: opts.allBranches ?? false,
        allTags: opts.allTags ?? false,
        allCommits: opts.allCommits ?? false,
      },
      {
        ...(opts.remote !== undefined ? { remoteName: opts.remote.toLowerCase() } : {}),
        ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
        signal: ctx.signal,
        onProgress: (p) => progress.update(p),
        onDebug: (line) => ctx.debug(line),
      },
    );
    progress.stop();
    for (const warning of report.warnings) ctx.err(`${warning}\n`);
    return report;
  } finally {
    progress.stop();
  }
}

/** `N files <done>`, or DVC's "Everything is up to date." */
export function countLine(n: number, done: string): string {
  return n > 0 ? `${n} ${n === 1 ? "file" : "files"} ${done}\n` : "Everything is up to date.\n";
}

/** Exit code of a data verb: 1 when anything failed or was missing. */
export function dataExitCode(report: PlanTransferReport): number {
  return report.failed > 0 || report.missing.length > 0 ? 1 : 0;
}
