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
    async push(exps, signal) {
      // Run cache first, as DVC does; its files count as uploaded.
      const runs = options.runCache ? await transferRunCache(withSignal(signal), "upload") : 0;
      const units = await experimentUnits(project, exps);
      return summary(await uploadUnits(withSignal(signal), units, { unreadable: "record" }), runs);
    },
    async pull(exps, signal) {
      if (options.runCache) await transferRunCache(withSignal(signal), "download");
      const units = await experimentUnits(project, exps);
      return summary(
        await downloadUnits(withSignal(signal), units, { unreadable: "record" }),
      );
    },
    close: () => rt.close(),
  };
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
