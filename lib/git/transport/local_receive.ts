/**
 * The receive-pack side of a local-path remote, in-process: store the pack,
 * apply git's own refusals, then update the refs with compare-and-swap. A
 * remote with server hooks is handed to `git receive-pack` instead, which
 * runs them; without git such a push is refused, never done behind the
 * hooks' back.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GitRemoteError } from "../../errors/mod.ts";
import { ObjectStore } from "../pack/object_store.ts";
import { parseCommit } from "../pack/object_parse.ts";
import { storePack } from "../pack/store_pack.ts";
import { updateRefs } from "../ref_write.ts";
import { findReceiveHooks, type HooksFolder } from "./local_hooks.ts";
import { type GitReceiveContext, receiveWithGit } from "./local_git_receive.ts";
import type { LocalRepo } from "./local_repo.ts";
import type { Advertisement, RefUpdate, RefUpdateResult } from "./types.ts";
import { ZERO_OID } from "./types.ts";

/** Clock skew tolerated when pruning the ancestry walk by commit time (as git's slop). */
const SKEW_SECONDS = 24 * 3600;

/** Reads `[receive] denyDeletes` / `denyNonFastForwards` from the remote's config. */
export async function receivePolicy(
  gitdir: string,
): Promise<{ denyDeletes: boolean; denyNonFastForwards: boolean }> {
  const policy = { denyDeletes: false, denyNonFastForwards: false };
  let text: string;
  try {
    text = await readFile(join(gitdir, "config"), "utf8");
  } catch {
    return policy;
  }
  let inReceive = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const section = /^\[\s*([^\]\s"]+)/.exec(line);
    if (section !== null) {
      inReceive = section[1]!.toLowerCase() === "receive";
      continue;
    }
    if (!inReceive) continue;
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (m === null) continue;
    const on = m[2] === undefined || /^(true|yes|on|1)$/i.test(m[2].trim());
    const key = m[1]!.toLowerCase();
    if (key === "denydeletes") policy.denyDeletes = on;
    if (key === "denynonfastforwards") policy.denyNonFastForwards = on;
  }
  return policy;
}

/** Whether `ancestor` is reachable from `tip` (walk pruned by commit time). */
async function isAncestor(store: ObjectStore, ancestor: string, tip: string): Promise<boolean> {
  const base = await store.tryRead(ancestor);
  if (base === undefined || base.type !== "commit") return false;
  const floor = parseCommit(ancestor, base.data).time - SKEW_SECONDS;
  const seen = new Set<string>([tip]);
  const queue = [tip];
  while (queue.length > 0) {
    const oid = queue.pop()!;
    if (oid === ancestor) return true;
    const obj = await store.tryRead(oid);
    if (obj === undefined || obj.type !== "commit") continue;
    const commit = parseCommit(oid, obj.data);
    if (commit.time < floor) continue;
    for (const p of commit.parents) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return false;
}

/** Why git would refuse one update before touching refs, or undefined. */
async function refusal(
  u: RefUpdate,
  store: ObjectStore,
  repo: LocalRepo,
  advertisement: Advertisement,
  policy: { denyDeletes: boolean; denyNonFastForwards: boolean },
): Promise<string | undefined> {
  // Like git, the deny* settings guard branches only.
  const branch = u.ref.startsWith("refs/heads/");
  if (u.newOid === ZERO_OID) {
    return policy.denyDeletes && branch ? "deletion prohibited" : undefined;
  }
  if (!(await store.has(u.newOid))) return "missing necessary objects";
  if (!repo.bare && u.ref === advertisement.headTarget) return "branch is currently checked out";
  if (
    policy.denyNonFastForwards && branch && u.oldOid !== ZERO_OID && u.oldOid !== u.newOid &&
    !(await isAncestor(store, u.oldOid, u.newOid))
  ) {
    return "non-fast-forward";
  }
  return undefined;
}

/**
 * Applies a push to the remote repository like `git-receive-pack` does: by
 * running it when the remote has hooks, in-process otherwise.
 */
export async function receive(
  repo: LocalRepo,
  advertisement: Advertisement,
  updates: readonly RefUpdate[],
  pack: Uint8Array | null,
  atomic: boolean,
  context: GitReceiveContext,
  hooksFolder: Promise<HooksFolder>,
): Promise<RefUpdateResult[]> {
  const hooks = await findReceiveHooks(await hooksFolder);
  if (hooks.names.length > 0) {
    if (!hooks.gitFound) {
      throw new GitRemoteError(
        `The Git remote '${context.displayUrl}' has server hooks (${hooks.names.join(", ")}) ` +
          "that only git can run, and git is not installed here: install git, or push over ssh.",
        { data: { url: context.displayUrl, hooks: [...hooks.names] } },
      );
    }
    context.onDebug?.(
      `git: the remote has hooks (${hooks.names.join(", ")}): running git receive-pack`,
    );
    return await receiveWithGit(repo.gitdir, updates, pack, atomic, context);
  }
  return await receiveInProcess(repo, advertisement, updates, pack, atomic);
}

/** git-receive-pack's work without hooks: store the pack, refuse as git would, update refs. */
async function receiveInProcess(
  repo: LocalRepo,
  advertisement: Advertisement,
  updates: readonly RefUpdate[],
  pack: Uint8Array | null,
  atomic: boolean,
): Promise<RefUpdateResult[]> {
  const failAll = (reason: string) => updates.map((u) => ({ ref: u.ref, ok: false, reason }));
  if (pack !== null && updates.some((u) => u.newOid !== ZERO_OID)) {
    try {
      await storePack(repo.gitdir, pack);
    } catch (e) {
      return failAll(`unpack failed: ${(e as Error).message}`);
    }
  }
  const policy = await receivePolicy(repo.gitdir);
  const rejected = new Map<string, string>();
  const store = ObjectStore.open(repo.gitdir);
  try {
    for (const u of updates) {
      const reason = await refusal(u, store, repo, advertisement, policy);
      if (reason !== undefined) rejected.set(u.ref, reason);
    }
  } finally {
    await store.close();
  }
  if (atomic && rejected.size > 0) {
    return updates.map((u) => ({
      ref: u.ref,
      ok: false,
      reason: rejected.get(u.ref) ?? "atomic push failure",
    }));
  }
  const writes = updates.filter((u) => !rejected.has(u.ref)).map((u) => ({
    ref: u.ref,
    newOid: u.newOid,
    expectedOld: u.oldOid,
  }));
  let written: Map<string, RefUpdateResult>;
  try {
    written = new Map((await updateRefs(repo.gitdir, writes, { atomic })).map((r) => [r.ref, r]));
  } catch (e) {
    return failAll(`failed to update refs: ${(e as Error).message}`);
  }
  return updates.map((u) => {
    const reason = rejected.get(u.ref);
    if (reason !== undefined) return { ref: u.ref, ok: false, reason };
    return written.get(u.ref) ?? { ref: u.ref, ok: false, reason: "no status reported" };
  });
}
