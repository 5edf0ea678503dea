import { buildPack } from "../../git/pack/build_pack.ts";
import { checkSendable, objectsToSend } from "../../git/pack/objects_to_send.ts";
import { localExpRefs, unresolvedNamesError } from "../../git/exp_refs.ts";
import type { GitCache } from "../../git/revision.ts";
import type { RefUpdate, Transport } from "../../git/transport/types.ts";
import { ZERO_OID } from "../../git/transport/types.ts";
import { resolveGitRemote } from "../../project/git_remote.ts";
import type { Project } from "../../project/project.ts";
import { isAncestor } from "./ancestry.ts";
import { reclassifyRaceLosers } from "./push_race.ts";
import { type ExpSelection, selectExperiments } from "./select.ts";
import type {
  ExpDataProblem,
  ExpDataReport,
  ExpDataSync,
  ExpSyncEntry,
  ExpSyncResult,
} from "./sync_types.ts";

export interface ExpPushOptions extends ExpSelection {
  readonly gitRemote: string;
  readonly force?: boolean;
  /** The data half; absent with --no-cache. */
  readonly data?: ExpDataSync;
  /** Push refs even when some of their objects could not be put on the DVC remote. */
  readonly allowMissing?: boolean;
  readonly dryRun?: boolean;
  readonly openTransport: (url: string) => Transport;
  readonly signal?: AbortSignal;
  readonly onDebug?: (line: string) => void;
}

/**
 * `exp push`: select local experiments, compare with the remote's refs in
 * one receive-pack session, upload the data of the experiments that will be
 * updated (and of those already up to date, as DVC does), then send every
 * ref whose data is complete in ONE request with one pack holding only what
 * the remote lacks (atomic when the remote offers it).
 */
export async function expPush(project: Project, options: ExpPushOptions): Promise<ExpSyncResult> {
  const cache: GitCache = {};
  const gitdir = project.gitDir;
  const local = await localExpRefs(gitdir);
  const selected = await selectExperiments(gitdir, local, options, "union", cache);
  // A full ref given on the command line that does not exist locally: fail before any traffic.
  const absent = selected.filter((exp) => exp.sha === undefined).map((exp) => exp.ref);
  if (absent.length > 0) throw unresolvedNamesError(absent);
  const target = resolveGitRemote(options.gitRemote, project.gitConfig);
  if (selected.length === 0) {
    return { entries: [], remote: options.gitRemote, data: null, dryRun: options.dryRun ?? false };
  }
  const transport = options.openTransport(target.pushUrl);
  const session = await transport.openPush(options.signal ? { signal: options.signal } : {});
  try {
    const remoteRefs = session.advertisement.refs;
    const entries: ExpSyncEntry[] = [];
    for (const exp of selected) {
      const previous = remoteRefs.get(exp.ref);
      const entry: ExpSyncEntry = {
        ref: exp.ref,
        name: exp.name,
        baseline: exp.baseline,
        sha: exp.sha!,
        previousSha: previous,
        status: "success",
        forced: false,
      };
      if (previous === exp.sha) entry.status = "up_to_date";
      else if (previous !== undefined && !(await isAncestor(gitdir, previous, exp.sha!, cache))) {
        if (options.force) entry.forced = true;
        else entry.status = "diverged";
      }
      entries.push(entry);
    }
    // A shallow clone that cannot send an experiment's history fails before any upload.
    const sendable = entries.filter((e) => e.status === "success").map((e) => e.sha);
    const haves = [...new Set(remoteRefs.values())];
    await checkSendable(gitdir, sendable, haves);
    if (options.dryRun) {
      return { entries, remote: options.gitRemote, data: null, dryRun: true };
    }

    // The pack of what will be sent is built once the data moves (the main
    // thread mostly waits for copies then, and planning the data does not
    // wait for the pack); rebuilt below in the rare case that an
    // experiment's data turns out incomplete. Left unawaited when the data
    // fails: its rejection is handled here, and still thrown where awaited.
    let startPacking = () => {};
    const packStart = new Promise<void>((resolve) => (startPacking = resolve));
    const packing = sendable.length > 0
      ? packStart.then(() => packFor(gitdir, sendable, haves))
      : undefined;
    packing?.catch(() => undefined);

    let data: ExpDataReport | null = null;
    if (options.data) {
      const eligible = entries.filter((e) => e.status === "success" || e.status === "up_to_date");
      const report = await options.data.push(eligible, options.signal, startPacking);
      data = report;
      if (!options.allowMissing) {
        for (const entry of eligible) {
          if (entry.status !== "success" || report.complete.has(entry.ref)) continue;
          entry.status = "data_incomplete";
          entry.reason = incompleteReason(report.incomplete.get(entry.ref));
        }
      }
    }

    // Nothing moved (all there, or no data half): the pack is built now.
    startPacking();
    const toSend = entries.filter((e) => e.status === "success");
    if (toSend.length > 0) {
      const updates: RefUpdate[] = toSend.map((e) => ({
        ref: e.ref,
        oldOid: e.previousSha ?? ZERO_OID,
        newOid: e.sha,
      }));
      const shas = toSend.map((e) => e.sha);
      // Experiments only ever drop out of the ones sendable: as many means the same.
      const { oids, bytes } =
        await (shas.length === sendable.length ? packing! : packFor(gitdir, shas, haves));
      options.onDebug?.(`sending ${oids} Git objects for ${updates.length} refs`);
      const atomic = session.advertisement.capabilities.has("atomic");
      const results = await session.send(updates, bytes, { atomic });
      const byRef = new Map(results.map((r) => [r.ref, r]));
      for (const entry of toSend) {
        const result = byRef.get(entry.ref);
        if (!result?.ok) {
          entry.status = "rejected";
          entry.reason = result?.reason ?? "the remote did not report this ref";
        }
      }
      // With --force the user wants the remote replaced: a rerun does that, so the reason stands.
      if (!options.force) {
        await reclassifyRaceLosers(toSend, { transport, gitdir, cache, signal: options.signal });
      }
    }
    return { entries, remote: options.gitRemote, data, dryRun: false };
  } finally {
    await session.close();
  }
}

/** Why an experiment's ref was held back, in words (the data half says which objects). */
function incompleteReason(problem: ExpDataProblem | undefined): string {
  switch (problem?.kind) {
    case "unreadable":
      return "its DVC files cannot be read (the error above names the file)";
    case "failed":
      return "some of its objects failed to upload";
    default:
      return "some of its objects are missing from the local cache";
  }
}

/** The pack holding what the remote (which has `haves`) lacks of `shas`' history. */
async function packFor(
  gitdir: string,
  shas: string[],
  haves: string[],
): Promise<{ oids: number; bytes: Uint8Array }> {
  const oids = await objectsToSend(gitdir, shas, haves);
  return { oids: oids.length, bytes: await buildPack(gitdir, oids) };
}
