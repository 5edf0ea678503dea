import type { ExpSyncEntry, ExpSyncResult, ExpSyncStatus } from "../../engine/exp/sync_types.ts";
import { humanJoin, pyRepr, redactUrl } from "../../util/mod.ts";

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
  const remote = pyRepr(shownRemote(result.remote));
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
  stderr += heldBackLines(result, labels);
  if (upToDate.length > 0) {
    stdout += `Experiment ${humanJoin(upToDate)} ${
      upToDate.length > 1 ? "are" : "is"
    } up to date on Git remote ${remote}.\n`;
  }
  if (pushed.length > 0) {
    stdout += `${would} experiment ${humanJoin(pushed)} to Git remote ${remote}.\n`;
  }
  // DVC's line when nothing was selected or everything diverged; an experiment
  // held back or rejected is explained on stderr instead ("no experiments" would be wrong).
  const explained = incomplete.length > 0 || result.entries.some((e) => e.status === "rejected");
  if (upToDate.length === 0 && pushed.length === 0 && !explained) {
    stdout += "No experiments to push.\n";
  }
  const uploaded = result.data?.transferred ?? 0;
  if (uploaded > 0) stdout += `${uploaded} ${uploaded === 1 ? "file" : "files"} uploaded\n`;
  if (noCache) {
    stdout +=
      "To push cached outputs for this experiment to DVC remote storage, re-run this command without '--no-cache'.\n";
  }
  // With --allow-missing a ref may go out without its data: still not a success.
  const failed = diverged.length + incomplete.length > 0 ||
    result.entries.some((e) => e.status === "rejected") || (result.data?.failed ?? 0) > 0 ||
    (result.data?.missing.length ?? 0) > 0 || (result.data?.incomplete.size ?? 0) > 0;
  return { stdout, stderr: dataWarnings(result) + stderr, exitCode: failed ? 1 : 0 };
}

/**
 * One line per kind of reason an experiment's ref was held back, saying what
 * helps: a rerun only finishes failed transfers; missing objects must be
 * brought back first, unreadable DVC files fixed in the experiment's commit.
 */
function heldBackLines(result: ExpSyncResult, labels: Map<string, string>): string {
  const held = result.entries.filter((e) => e.status === "data_incomplete");
  const kindOf = (e: ExpSyncEntry) => result.data?.incomplete.get(e.ref)?.kind ?? "missing";
  let text = "";
  for (const e of held.filter((e) => kindOf(e) === "unreadable")) {
    text += `Experiment ${labels.get(e.ref)} was not pushed: ${e.reason}; fix that file in ` +
      "the experiment's commit, or push the ref without its data with --allow-missing.\n";
  }
  const missing = held.filter((e) => kindOf(e) === "missing").map((e) => labels.get(e.ref)!);
  if (missing.length > 0) {
    text += `Experiment ${humanJoin(missing)} was not pushed: some of its objects are missing ` +
      "from the local cache (see the warning above); fetch or reproduce them, or push the ref " +
      "without them with --allow-missing.\n";
  }
  const failed = held.filter((e) => kindOf(e) === "failed").map((e) => labels.get(e.ref)!);
  if (failed.length > 0) {
    text += `Experiment ${humanJoin(failed)} was not pushed: some of its objects failed to ` +
      "upload (see the errors above); run the command again to finish, or use --allow-missing.\n";
  }
  return text;
}

/**
 * `exp pull` output: plain names (DVC prints a list repr), forced updates
 * reported. Exit 1 when an experiment diverged, a download failed, an
 * experiment's DVC files cannot be read, or (without `--allow-missing`)
 * objects are missing from the remote.
 */
export function renderExpPull(
  result: ExpSyncResult,
  noCache: boolean,
  allowMissing = false,
): Rendered {
  const labels = displayNames(result.entries);
  const remote = pyRepr(shownRemote(result.remote));
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
  const unreadable = [...(result.data?.incomplete.values() ?? [])].some((p) =>
    p.kind === "unreadable"
  );
  const failed = diverged.length > 0 || (result.data?.failed ?? 0) > 0 || unreadable ||
    (!allowMissing && (result.data?.missing.length ?? 0) > 0);
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

/**
 * The Git remote as the messages name it. DVC echoes a URL as typed,
 * password and all: dxp hides a password, and the user part of an http(s)
 * URL (where a token goes); an ssh user name stays.
 */
function shownRemote(remote: string): string {
  if (/^https?:\/\//i.test(remote)) return redactUrl(remote);
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/i, "$1:***@");
}
