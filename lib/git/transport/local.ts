/**
 * Local-path and `file://` remotes, pure JS: the remote side of fetch and
 * push runs in-process on the remote's Git directory (no git binary).
 */
import { DxpError, GitRemoteError, InterruptedError } from "../../errors/mod.ts";
import { ObjectStore } from "../pack/object_store.ts";
import { serveFetch } from "../pack/serve_fetch.ts";
import { filterRefs } from "../protocol/advertisement.ts";
import { NOTHING_FETCHED } from "../protocol/fetch_exchange.ts";
import { findHooksFolder } from "./local_hooks.ts";
import { receive } from "./local_receive.ts";
import { findLocalRepo, localAdvertisement } from "./local_repo.ts";
import type {
  Advertisement,
  FetchedPack,
  FetchRequest,
  FetchSession,
  ListRefsOptions,
  PushSession,
  Transport,
  TransportOptions,
} from "./types.ts";

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof DxpError ? signal.reason : new InterruptedError();
  }
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
  transportOptions?: TransportOptions,
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
    const fetch = async (request: FetchRequest): Promise<FetchedPack> => {
      if (requested) throw new Error("fetch() can be called only once per session");
      requested = true;
      if (request.wants.length === 0) return NOTHING_FETCHED;
      checkAbort(list.signal);
      const store = ObjectStore.open(repo.gitdir);
      try {
        for (const oid of request.wants) {
          if (!(await store.has(oid))) {
            throw new GitRemoteError(
              `The Git remote '${displayUrl}' does not have the requested object '${oid}'.`,
            );
          }
        }
        const answer = await serveFetch(repo.gitdir, store, request);
        checkAbort(list.signal);
        return answer;
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
    };
    return {
      advertisement,
      fetch,
      fetchPack: async (wants, haves) => (await fetch({ wants, haves })).pack,
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
      const env = transportOptions?.env ?? {};
      const hooksFolder = findHooksFolder(repo.gitdir, env);
      let sent = false;
      return {
        advertisement: full,
        async send(updates, pack, options) {
          if (sent) throw new Error("send() can be called only once per session");
          sent = true;
          checkAbort(push.signal);
          if (updates.length === 0) return [];
          return await receive(repo, full, updates, pack, options.atomic, {
            displayUrl,
            env,
            onDebug: transportOptions?.onDebug,
          }, hooksFolder);
        },
        close: () => Promise.resolve(),
      };
    },
  };
}
