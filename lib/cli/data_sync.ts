import type { ExpDataSync } from "../engine/exp_sync_types.ts";
import type { Project } from "../project/project.ts";
import type { CliContext } from "./context.ts";

/** Flags that shape the data half of `exp push`/`exp pull`. */
export interface DataFlags {
  remote?: string;
  jobs?: number;
  runCache?: boolean;
  progress?: boolean;
}

/**
 * Builds the data half for a command. Until the DVC-remote engine is wired
 * in this returns undefined, and the commands run as with `--no-cache`.
 */
export function dataSyncFor(
  _project: Project,
  ctx: CliContext,
  _flags: DataFlags,
): Promise<ExpDataSync | undefined> {
  ctx.err(
    "Note: moving experiment data is not available in this build; only Git refs were synced.\n",
  );
  return Promise.resolve(undefined);
}
