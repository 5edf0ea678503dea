import type { ExpSyncEntry, ExpSyncResult, ExpSyncStatus } from "../../engine/exp/sync_types.ts";
import { humanJoin, pyRepr } from "../../util/mod.ts";

/** Lines for stdout and stderr, and the exit code the result deserves. */
export interface Rendered {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Names as shown in messages: plain, or `name (<baseline7>)` when the same
 * name occurs on several baselines in one result (DVC prints `exp-a and exp-a`).
 */
export function displayNames(entries: readonly ExpSyncEntry[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  return new Map(
    entries.map((
      e,
    ) => [e.ref, (counts.get(e.name) ?? 0) > 1 ? `${e.name} (${e.baseline.slice(0, 7)})` : e.name]),
  );
}

function namesWith(
  result: ExpSyncResult,
  status: ExpSyncStatus,
  labels: Map<string, string>,
): string[] {
  return result.entries.filter((e) => e.status === status).map((e) => labels.get(e.ref)!);
}

/** DVC's `exp push` output (spec §2.2) with the quirks we fix. */
export function renderExpPush(result: ExpSyncResult, noCache: boolean): Rendered {
  const labels = displayNames(result.entries);
  const remote = pyRepr(result.remote);
  const would = result.dryRun ? "Would push" : "Pushed";
  let stdout = "";
  let stderr = "";
  const diverged = namesWith(result, "diverged", labels);
  const upToDate = namesWith(result, "up_to_date", labels);
  const pushed = namesWith(result, "success", labels);
  if (diverged.length > 0) {
    stderr +=
      `Local experiment ${
        humanJoin(diverged)
      } has diverged from remote experiment with the same name.\n` +
      "To override the remote experiment re-run with '--force'.\n";
  }
  for (const e of result.entries.filter((e) => e.status === "rejected")) {
    stderr += `Git remote ${remote} rejected experiment ${labels.get(e.ref)}: ${e.reason}\n`;
  }
  const incomplete = namesWith(result, "data_incomplete", labels);
  if (incomplete.length > 0) {
    stderr +=
      `Experiment ${
        humanJoin(incomplete)
      } was not pushed: some of its data is not on the DVC remote ` +
      "(see the warnings above); run the command again to finish, or use --allow-missing.\n";
  }
  if (upToDate.length > 0) {
    stdout += `Experiment ${humanJoin(upToDate)} ${
      upToDate.length > 1 ? "are" : "is"
    } up to date on Git remote ${remote}.\n`;
  }
  if (pushed.length > 0) {
    stdout += `${would} experiment ${humanJoin(pushed)} to Git remote ${remote}.\n`;
  }
  if (upToDate.length === 0 && pushed.length === 0) stdout += "No experiments to push.\n";
  const uploaded = result.data?.transferred ?? 0;
  if (uploaded > 0) stdout += `${uploaded} ${uploaded === 1 ? "file" : "files"} uploaded\n`;
  if (noCache) {
    stdout +=
      "To push cached outputs for this experiment to DVC remote storage, re-run this command without '--no-cache'.\n";
  }
  const failed = diverged.length + incomplete.length > 0 ||
    result.entries.some((e) => e.status === "rejected") || (result.data?.failed ?? 0) > 0 ||
    (result.data?.missing.length ?? 0) > 0;
  return { stdout, stderr: dataWarnings(result) + stderr, exitCode: failed ? 1 : 0 };
}

/** `exp pull` output: plain names (DVC prints a list repr), forced updates reported. */
export function renderExpPull(result: ExpSyncResult, noCache: boolean): Rendered {
  const labels = displayNames(result.entries);
  const remote = pyRepr(result.remote);
  let stdout = "";
  let stderr = "";
  const diverged = namesWith(result, "diverged", labels);
  const pulled = namesWith(result, "success", labels);
  if (diverged.length > 0) {
    stderr +=
      `Local experiment ${
        humanJoin(diverged)
      } has diverged from remote experiment with the same name. ` +
      "To override the local experiment re-run with '--force'.\n";
  }
  if (pulled.length > 0) {
    stdout += `${result.dryRun ? "Would pull" : "Pulled"} experiment ${
      humanJoin(pulled)
    } from Git remote ${remote}.\n`;
  } else {
    stdout += "No experiments to pull.\n";
  }
  if (noCache) {
    stdout +=
      "To pull cached outputs for this experiment from DVC remote storage, re-run this command without '--no-cache'.\n";
  }
  const failed = (result.data?.failed ?? 0) > 0 || (result.data?.missing.length ?? 0) > 0;
  return { stdout, stderr: stderr + dataWarnings(result), exitCode: failed ? 1 : 0 };
}

function dataWarnings(result: ExpSyncResult): string {
  return (result.data?.warnings ?? []).map((w) => `${w}\n`).join("");
}

/** DVC's result object plus ours, for `--json`. */
export function expSyncJson(
  result: ExpSyncResult,
  direction: "push" | "pull",
): Record<string, unknown> {
  const labels = displayNames(result.entries);
  const json: Record<string, unknown> = {};
  for (
    const status of ["success", "up_to_date", "diverged", "rejected", "data_incomplete"] as const
  ) {
    const list = result.entries.filter((e) => e.status === status);
    if (list.length === 0) continue;
    json[status] = status === "rejected" || status === "data_incomplete"
      ? list.map((e) => ({ name: labels.get(e.ref), ref: e.ref, reason: e.reason ?? null }))
      : list.map((e) => labels.get(e.ref));
  }
  json[direction === "push" ? "uploaded" : "downloaded"] = result.data?.transferred ?? 0;
  json["url"] = null;
  json["dry_run"] = result.dryRun;
  json["refs"] = result.entries.map((e) => ({
    ref: e.ref,
    name: e.name,
    baseline: e.baseline,
    sha: e.sha,
    previous_sha: e.previousSha ?? null,
    status: e.status,
    forced: e.forced,
  }));
  if (result.data) {
    json["missing"] = result.data.missing;
    json["failed"] = result.data.failed;
  }
  return json;
}
