import { openTreeReaders, type TreeReaders } from "../../git/fast_tree.ts";
import type { Project } from "../../project/project.ts";
import { experimentUnits } from "../data/plan.ts";
import { type DataOptions, openDataRuntime } from "../data/runtime.ts";
import { downloadUnits, type PlanTransferReport, uploadUnits } from "../data/transfer.ts";
import { transferRunCache } from "../data/run_cache.ts";
import type { ExpDataReport, ExpDataSync } from "./sync_types.ts";

/**
 * The data half of `exp push`/`exp pull` over the project's DVC remotes and
 * local cache (spec §3–§4): every commit of each experiment, its outputs,
 * their remotes; uploads before refs, downloads verified. `-r`, `-j` and
 * the rest are read from the one runtime built from `options`. An
 * experiment whose DVC files cannot be read is reported incomplete (its ref
 * is then not pushed), never silently skipped.
 */
export async function createExpDataSync(
  project: Project,
  options: DataOptions & { runCache?: boolean } = {},
): Promise<ExpDataSync> {
  const rt = await openDataRuntime(project, options);
  const withSignal = (signal: AbortSignal | undefined) => (signal ? { ...rt, signal } : rt);
  return {
    async push(exps, signal, onMoving) {
      // Run cache first, as DVC does; its files count as uploaded.
      const runs = options.runCache ? await transferRunCache(withSignal(signal), "upload") : 0;
      return await withTreeReaders(project, async (readers) => {
        const units = await experimentUnits(project, exps, {}, readers);
        const moving = onMoving === undefined
          ? withSignal(signal)
          : { ...withSignal(signal), onMoving };
        return summary(await uploadUnits(moving, units, { unreadable: "record" }), runs);
      });
    },
    async pull(exps, signal) {
      if (options.runCache) await transferRunCache(withSignal(signal), "download");
      // Opened after the refs were fetched: the packs they came in are read too.
      return await withTreeReaders(project, async (readers) => {
        const units = await experimentUnits(project, exps, {}, readers);
        return summary(
          await downloadUnits(withSignal(signal), units, { unreadable: "record" }),
        );
      });
    },
    close: () => rt.close(),
  };
}

/** Runs `use` with tree readers over the project's repository, closed after it. */
async function withTreeReaders<T>(
  project: Project,
  use: (readers: TreeReaders) => Promise<T>,
): Promise<T> {
  const readers = openTreeReaders(project.gitDir);
  try {
    return await use(readers);
  } finally {
    await readers.store.close();
  }
}

function summary(report: PlanTransferReport, extra = 0): ExpDataReport {
  const seen = new Map<string, { hash: string; scheme: string }>();
  for (const o of report.missing) {
    seen.set(`${o.scheme}:${o.oid}`, { hash: o.oid, scheme: o.scheme });
  }
  return {
    transferred: report.transferred + extra,
    missing: [...seen.values()],
    failed: report.failed,
    warnings: report.warnings,
    complete: report.complete,
    incomplete: report.incomplete,
  };
}
