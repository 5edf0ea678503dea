/**
 * Local-path and `file://` remotes, pure JS: the remote side of fetch and
 * push runs in-process on the remote's Git directory (no git binary).
 */
import { DxpError, GitRemoteError, InterruptedError } from "../../errors/mod.ts";
import { buildPack } from "../pack/build_pack.ts";
import { ObjectStore } from "../pack/object_store.ts";
import { objectsToSend } from "../pack/objects_to_send.ts";
import { storePack } from "../pack/store_pack.ts";
import { filterRefs } from "../protocol/advertisement.ts";
import { updateRefs } from "../ref_write.ts";
import { findLocalRepo, localAdvertisement, type LocalRepo } from "./local_repo.ts";
import type {
  Advertisement,
  FetchSession,
  ListRefsOptions,
  PushSession,
  RefUpdate,
  RefUpdateResult,
  Transport,
  TransportOptions,
} from "./types.ts";
import { ZERO_OID } from "./types.ts";

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof DxpError ? signal.reason : new InterruptedError();
  }
}

/** Applies a push to the remote repository like `git-receive-pack` (no hooks). */
async function receive(
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
  // receive-pack refuses refs whose objects did not arrive, and the checked-out branch of a non-bare repo.
  const rejected = new Map<string, string>();
  const store = ObjectStore.open(repo.gitdir);
  try {
    for (const u of updates) {
      if (u.newOid !== ZERO_OID && !(await store.has(u.newOid))) {
        rejected.set(u.ref, "missing necessary objects");
      } else if (!repo.bare && u.ref === advertisement.headTarget) {
        rejected.set(u.ref, "branch is currently checked out");
      }
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
    return written.get(u.ref) ?? { ref: u.ref, ok: false, reason: "no status" };
  });
}

/**
 * Transport for a repository on this machine (bare, or a work tree with `.git`).
 *
 * @example
 * ```ts
 * const t = createLocalTransport("/srv/repo.git", "/srv/repo.git");
 * const adv = await t.listRefs({ prefixes: ["refs/exps/"] });
 * ```
 */
export function createLocalTransport(
  path: string,
  url: string,
  _options?: TransportOptions,
): Transport {
  const displayUrl = url;

  async function open(list: ListRefsOptions) {
    checkAbort(list.signal);
    const repo = await findLocalRepo(path, displayUrl);
    const full = await localAdvertisement(repo, displayUrl);
    return { repo, full };
  }

  async function openFetch(list: ListRefsOptions = {}): Promise<FetchSession> {
    const { repo, full } = await open(list);
    const advertisement: Advertisement = { ...full, refs: filterRefs(full.refs, list.prefixes) };
    let requested = false;
    return {
      advertisement,
      async fetchPack(wants, haves) {
        if (requested) throw new Error("fetchPack() can be called only once per session");
        requested = true;
        if (wants.length === 0) return new Uint8Array(0);
        checkAbort(list.signal);
        const store = ObjectStore.open(repo.gitdir);
        try {
          for (const oid of wants) {
            if (!(await store.has(oid))) {
              throw new GitRemoteError(
                `The Git remote '${displayUrl}' does not have the requested object '${oid}'.`,
              );
            }
          }
          const oids = await objectsToSend(repo.gitdir, wants, haves, { store });
          checkAbort(list.signal);
          return await buildPack(repo.gitdir, oids, { store });
        } catch (e) {
          if (e instanceof InterruptedError || e instanceof GitRemoteError) throw e;
          throw new GitRemoteError(
            `The Git remote '${displayUrl}' could not send its objects (${
              (e as Error).message.replace(/\.$/, "")
            }).`,
            { cause: e },
          );
        } finally {
          await store.close();
        }
      },
      close: () => Promise.resolve(),
    };
  }

  return {
    displayUrl,
    async listRefs(list: ListRefsOptions = {}) {
      return (await openFetch(list)).advertisement;
    },
    openFetch,
    async openPush(push: { signal?: AbortSignal } = {}): Promise<PushSession> {
      const { repo, full } = await open(push);
      let sent = false;
      return {
        advertisement: full,
        async send(updates, pack, options) {
          if (sent) throw new Error("send() can be called only once per session");
          sent = true;
          checkAbort(push.signal);
          if (updates.length === 0) return [];
          return await receive(repo, full, updates, pack, options.atomic);
        },
        close: () => Promise.resolve(),
      };
    },
  };
}
