import { createExpDataSync } from "../engine/exp_data.ts";
import type { ExpDataSync } from "../engine/exp_sync_types.ts";
import type { Project } from "../project/project.ts";
import type { CliContext } from "./context.ts";
import { type ProgressDisplay, progressDisplay } from "./render/progress.ts";

/** Flags that shape the data half of `exp push`/`exp pull`. */
export interface DataFlags {
  remote?: string;
  jobs?: number;
  runCache?: boolean;
  progress?: boolean;
}

/** Builds the data half for a command, with its progress display. */
export async function dataSyncFor(
  project: Project,
  ctx: CliContext,
  flags: DataFlags,
): Promise<{ data: ExpDataSync; progress: ProgressDisplay }> {
  const progress = progressDisplay(ctx, flags.progress !== false);
  const data = await createExpDataSync(project, {
    ...(flags.remote !== undefined ? { remoteName: flags.remote.toLowerCase() } : {}),
    ...(flags.jobs !== undefined ? { jobs: flags.jobs } : {}),
    runCache: flags.runCache ?? false,
    onProgress: (p) => progress.update(p),
    onDebug: (line) => ctx.debug(line),
  });
  return { data, progress };
}
