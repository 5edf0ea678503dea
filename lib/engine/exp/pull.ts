import { fetchCommits } from "../../git/fetch_commits.ts";
import { updateRef } from "../../git/ref_write.ts";
import { expRefsIn } from "../../git/exp_refs.ts";
import { readRefs } from "../../git/refs_read.ts";
import type { GitCache } from "../../git/revision.ts";
import type { Transport } from "../../git/transport/types.ts";
import { resolveGitRemote } from "../../project/git_remote.ts";
import type { Project } from "../../project/project.ts";
import { isAncestor } from "./ancestry.ts";
import { haveObject } from "../../git/have_object.ts";
import { type ExpSelection, selectExperiments } from "./select.ts";
import { promisorFor } from "./transport_for.ts";
import type { ExpDataReport, ExpDataSync, ExpSyncEntry, ExpSyncResult } from "./sync_types.ts";

export interface ExpPullOptions extends ExpSelection {
  readonly gitRemote: string;
  readonly force?: boolean;
  /** The data half; absent with --no-cache. */
  readonly data?: ExpDataSync;
  readonly dryRun?: boolean;
  readonly openTransport: (url: string) => Transport;
  readonly signal?: AbortSignal;
  readonly onDebug?: (line: string) => void;
}

/**
 * `exp pull`: list the remote's experiments and fetch the selected ones in
 * ONE upload-pack session (telling the server every local tip and the
 * experiments' baselines we have, so only new objects come), store the pack,
 * then move each local ref — only after its objects are stored, with a
 * compare-and-swap against the value read at the start — after the data
 * half has downloaded their DVC objects into the local cache.
 */
export async function expPull(project: Project, options: ExpPullOptions): Promise<ExpSyncResult> {
  // Reset after a pack is stored: isomorphic-git caches the list of packs.
  let cache: GitCache = {};
  const gitdir = project.gitDir;
  const target = resolveGitRemote(options.gitRemote, project.gitConfig);
  const transport = options.openTransport(target.fetchUrl);
  const listOptions = options.signal
    ? { prefixes: ["refs/exps/"], signal: options.signal }
    : { prefixes: ["refs/exps/"] };
  const session = await transport.openFetch(listOptions);
  let entries: ExpSyncEntry[];
  try {
    const remote = expRefsIn(session.advertisement.refs);
    const selected = await selectExperiments(gitdir, remote, options, "exclusive", cache);
    const localRefs = await readRefs(gitdir, "refs/");
    entries = selected
      .filter((exp) => exp.sha !== undefined)
      .map((exp) => ({
        ref: exp.ref,
        name: exp.name,
        baseline: exp.baseline,
        sha: exp.sha!,
        previousSha: localRefs.get(exp.ref),
        status: "success" as const,
        forced: false,
      }));
    for (const entry of entries) {
      if (entry.previousSha === entry.sha) entry.status = "up_to_date";
    }
    if (!options.dryRun) {
      const haves = new Set(localRefs.values());
      for (const entry of entries) {
        if (await haveObject(gitdir, entry.baseline, cache)) haves.add(entry.baseline);
      }
      // Shallow and partial clones included: refs below are written only to complete commits.
      const tips = new Map(entries.map((e) => [e.sha, { oid: e.sha, base: e.baseline }]));
      const promisor = promisorFor(project, options.openTransport);
      await fetchCommits(gitdir, {
        // Tips already here are checked (and completed in a partial clone) for the data half.
        tips: [...tips.values()],
        haves: [...haves],
        session,
        reopen: () => transport.openFetch(listOptions),
        displayUrl: transport.displayUrl,
        promisorPack: promisor?.fetchUrl === target.fetchUrl,
        ...(promisor === undefined ? {} : { fetchObjects: promisor.fetch }),
        ...(options.onDebug === undefined ? {} : { onDebug: options.onDebug }),
      });
      cache = {};
    }
  } finally {
    await session.close();
  }

  for (const entry of entries) {
    if (entry.status !== "success" || entry.previousSha === undefined) continue;
    if (options.dryRun && !(await haveObject(gitdir, entry.sha, cache))) continue;
    if (!(await isAncestor(gitdir, entry.previousSha, entry.sha, cache))) {
      if (options.force) entry.forced = true;
      else entry.status = "diverged";
    }
  }
  if (options.dryRun) return { entries, remote: options.gitRemote, data: null, dryRun: true };

  // Data before refs: the commits are stored, so their DVC files can be read;
  // a command that stops here (no DVC remote, interrupted) leaves no new ref.
  let data: ExpDataReport | null = null;
  if (options.data) {
    const eligible = entries.filter((e) => e.status === "success" || e.status === "up_to_date");
    data = await options.data.pull(eligible, options.signal);
  }
  for (const entry of entries) {
    if (entry.status !== "success") continue;
    await updateRef(gitdir, entry.ref, entry.sha, entry.previousSha);
  }
  return { entries, remote: options.gitRemote, data, dryRun: false };
}
