import type { ExpDataSync, ExpSyncResult } from "../engine/exp/sync_types.ts";
import type { Transport } from "../git/transport/types.ts";
import type { Project } from "../project/project.ts";
import type { CliContext } from "./context.ts";
import { progressDisplay } from "./render/progress.ts";
import { transportOpener } from "./transport_opener.ts";

/** The parsed flags `exp push` and `exp pull` share. */
export interface ExpSyncFlags {
  allCommits?: true;
  rev?: string[];
  num: number;
  force?: true;
  cache: boolean;
  remote?: string;
  jobs?: number;
  runCache?: boolean;
  allowMissing?: true;
  json?: true;
  dryRun?: true;
  progress: boolean;
}

/** The engine options both verbs take, built from the flags. */
export interface ExpSyncCommon {
  gitRemote: string;
  names: string[];
  allCommits: boolean;
  revs: string[];
  num: number;
  force: boolean;
  dryRun: boolean;
  data?: ExpDataSync;
  openTransport: (url: string) => Transport;
  signal: AbortSignal;
  onDebug: (line: string) => void;
}

/**
 * Runs `exp push`/`exp pull` with the data half wired in (unless
 * `--no-cache` or `--dry-run`), its progress display, and its stores closed
 * afterwards whatever happens. The data half is opened even for a dry run,
 * so an unknown `-r` fails before any traffic either way.
 */
export async function runExpSync(
  project: Project,
  ctx: CliContext,
  command: "exp push" | "exp pull",
  gitRemote: string,
  names: string[],
  opts: ExpSyncFlags,
  verb: (common: ExpSyncCommon) => Promise<ExpSyncResult>,
): Promise<ExpSyncResult> {
  const { createExpDataSync } = await import("../engine/exp/data.ts");
  const openTransport = await transportOpener(project, ctx);
  const progress = await progressDisplay(ctx, opts.progress && !opts.json);
  const data = opts.cache
    ? await createExpDataSync(project, {
      ...(opts.remote !== undefined ? { remoteName: opts.remote.toLowerCase() } : {}),
      ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      command,
      runCache: opts.runCache ?? false,
      onProgress: (p) => progress.update(p),
      onDebug: (line) => ctx.debug(line),
    })
    : undefined;
  try {
    return await verb({
      gitRemote,
      names,
      allCommits: opts.allCommits ?? false,
      revs: opts.rev ?? [],
      num: opts.num,
      force: opts.force ?? false,
      dryRun: opts.dryRun ?? false,
      ...(data && !opts.dryRun ? { data } : {}),
      openTransport,
      signal: ctx.signal,
      onDebug: (line) => ctx.debug(line),
    });
  } finally {
    progress.stop();
    await data?.close();
  }
}
