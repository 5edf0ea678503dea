/**
 * The smart-HTTP(S) Git transport (git's "http" protocol, stateless RPC).
 *
 * A session is discovery (`GET info/refs`) — plus `ls-refs` when the server
 * speaks protocol v2 — then one POST carrying the fetch or push request.
 * Dumb HTTP is not supported. Proxies: see http_proxy.ts.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import { redactUrl } from "../../util/redact.ts";
import {
  buildLsRefsRequest,
  filterRefs,
  readLsRefsResponse,
  readV0Advertisement,
} from "../protocol/advertisement.ts";
import { AGENT } from "../protocol/agent.ts";
import type { PktReader } from "../protocol/pkt_line.ts";
import { buildReceivePackRequest, readReportStatus } from "../protocol/receive_pack.ts";
import { fetchRequestBytes, NOTHING_FETCHED, readFetchAnswer } from "../protocol/fetch_exchange.ts";
import { HttpAuth } from "./http_auth.ts";
import { proxyFor } from "./http_proxy.ts";
import { extraHeadersFor } from "./http_extra_headers.ts";
import { discover, rpc, type SmartHttpContext } from "./http_client.ts";
import { HttpConnectionPool } from "./http_request.ts";
import { tlsSettingsFor } from "./http_tls.ts";
import type {
  Advertisement,
  FetchedPack,
  FetchRequest,
  FetchSession,
  ListRefsOptions,
  PushSession,
  RefUpdate,
  RefUpdateResult,
  Transport,
  TransportOptions,
} from "./types.ts";

/** The URL as users see it: secrets redacted, no lone trailing "/" after the host. */
function displayUrlOf(url: URL): string {
  const href = url.pathname === "/" && url.search === "" && url.hash === ""
    ? url.href.slice(0, -1)
    : url.href;
  return redactUrl(href);
}

/**
 * Creates the transport for an `http://` or `https://` Git URL. Throws an
 * AuthError right away when the URL carries a password but is plain http to
 * a non-loopback host.
 */
export function createHttpTransport(url: URL, options: TransportOptions): Transport {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new GitRemoteError(`'${redactUrl(url.href)}' is not an http(s) URL.`);
  }
  const displayUrl = displayUrlOf(url);
  const auth = new HttpAuth(url, displayUrl, options);
  const base = new URL(url.href);
  base.username = "";
  base.password = "";
  base.hash = "";
  const extraHeaders = extraHeadersFor(base, options.gitConfig);

  /** One session's connection pool and context; `close()` must follow. */
  const open = () => {
    const tls = tlsSettingsFor(options);
    if (tls.caFiles.length > 0) options.onDebug?.(`http: extra CA files ${tls.caFiles.join(", ")}`);
    if (!tls.rejectUnauthorized) options.onDebug?.("http: TLS certificate verification is off");
    const pool = new HttpConnectionPool(tls, (target) => {
      const proxy = proxyFor(target, options);
      if (proxy !== undefined) options.onDebug?.(`http: via proxy ${redactUrl(proxy.href)}`);
      return proxy;
    });
    const ctx: SmartHttpContext = {
      base,
      displayUrl,
      auth,
      extraHeaders,
      pool,
      ...(options.onDebug === undefined ? {} : { onDebug: options.onDebug }),
    };
    return ctx;
  };

  return {
    displayUrl,
    async listRefs(listOptions: ListRefsOptions = {}): Promise<Advertisement> {
      const ctx = open();
      try {
        return (await uploadPackAdvertisement(ctx, listOptions)).advertisement;
      } finally {
        ctx.pool.close();
      }
    },
    async openFetch(listOptions: ListRefsOptions = {}): Promise<FetchSession> {
      const ctx = open();
      try {
        const { advertisement, base } = await uploadPackAdvertisement(ctx, listOptions);
        return fetchSession(ctx, base, advertisement, listOptions.signal);
      } catch (error) {
        ctx.pool.close();
        throw error;
      }
    },
    async openPush(pushOptions: { signal?: AbortSignal } = {}): Promise<PushSession> {
      const ctx = open();
      try {
        const signal = pushOptions.signal;
        const found = await discover(ctx, "git-receive-pack", {
          v2: false,
          ...(signal === undefined ? {} : { signal }),
        });
        const advertisement = await readAdvertisement(found.reader);
        return pushSession(ctx, found.base, advertisement, signal);
      } catch (error) {
        ctx.pool.close();
        throw error;
      }
    },
  };
}

/**
 * git's http-backend starts a v0 answer with `# service=…` and a flush but a
 * v2 answer without it; other servers (GitHub) send the header for both.
 */
async function readAdvertisement(reader: PktReader): Promise<Advertisement> {
  const head = new TextDecoder().decode(await reader.peek(14));
  return await readV0Advertisement(reader, { smartHttp: head.slice(4).startsWith("# service=") });
}

/** v2 capabilities are `name` or `name=features`. */
function hasV2Command(capabilities: ReadonlySet<string>, name: string): boolean {
  return [...capabilities].some((c) => c === name || c.startsWith(`${name}=`));
}

/** Discovery for upload-pack, then `ls-refs` when the server speaks v2. */
async function uploadPackAdvertisement(
  ctx: SmartHttpContext,
  listOptions: ListRefsOptions,
): Promise<{ advertisement: Advertisement; base: URL }> {
  const signal = listOptions.signal;
  const withSignal = signal === undefined ? {} : { signal };
  const found = await discover(ctx, "git-upload-pack", { v2: true, ...withSignal });
  const first = await readAdvertisement(found.reader);
  if (first.protocol === 0) {
    const refs = filterRefs(first.refs, listOptions.prefixes);
    return { advertisement: { ...first, refs }, base: found.base };
  }
  if (!hasV2Command(first.capabilities, "ls-refs") || !hasV2Command(first.capabilities, "fetch")) {
    throw new GitRemoteError(
      `'${ctx.displayUrl}' speaks Git protocol v2 without the ls-refs and fetch commands.`,
    );
  }
  // Ask for HEAD too so its symref target is known whatever the prefixes.
  const prefixes = listOptions.prefixes ?? [];
  const request = buildLsRefsRequest(prefixes.length === 0 ? [] : [...prefixes, "HEAD"], AGENT);
  const reader = await rpc(ctx, found.base, "git-upload-pack", request, {
    v2: true,
    ...withSignal,
  });
  const listed = await readLsRefsResponse(reader);
  const advertisement: Advertisement = {
    refs: filterRefs(listed.refs, listOptions.prefixes),
    capabilities: first.capabilities,
    protocol: 2,
    ...(listed.headTarget === undefined ? {} : { headTarget: listed.headTarget }),
  };
  return { advertisement, base: found.base };
}

function fetchSession(
  ctx: SmartHttpContext,
  base: URL,
  advertisement: Advertisement,
  signal: AbortSignal | undefined,
): FetchSession {
  const withSignal = signal === undefined ? {} : { signal };
  const v2 = advertisement.protocol === 2;
  const fetch = async (request: FetchRequest): Promise<FetchedPack> => {
    // Nothing wanted: no request at all (git sends none either).
    if (request.wants.length === 0) return NOTHING_FETCHED;
    const bytes = fetchRequestBytes(request, advertisement, ctx.displayUrl);
    const reader = await rpc(ctx, base, "git-upload-pack", bytes, { v2, ...withSignal });
    const answer = await readFetchAnswer(
      reader,
      request,
      advertisement,
      (text) => ctx.onDebug?.(`remote: ${text.trimEnd()}`),
    );
    ctx.onDebug?.(`http: received a pack of ${answer.pack.length} bytes`);
    return answer;
  };
  return {
    advertisement,
    fetch,
    fetchPack: async (wants, haves) => (await fetch({ wants, haves })).pack,
    close(): Promise<void> {
      ctx.pool.close();
      return Promise.resolve();
    },
  };
}

function pushSession(
  ctx: SmartHttpContext,
  base: URL,
  advertisement: Advertisement,
  signal: AbortSignal | undefined,
): PushSession {
  const withSignal = signal === undefined ? {} : { signal };
  return {
    advertisement,
    async send(
      updates: readonly RefUpdate[],
      pack: Uint8Array | null,
      options: { atomic: boolean },
    ): Promise<RefUpdateResult[]> {
      if (updates.length === 0) return [];
      const caps = advertisement.capabilities;
      const request = buildReceivePackRequest(updates, pack, caps, options);
      const reader = await rpc(ctx, base, "git-receive-pack", request, {
        v2: false,
        ...withSignal,
      });
      return await readReportStatus(reader, {
        sideband: caps.has("side-band-64k"),
        updates,
        onProgress: (text) => ctx.onDebug?.(`remote: ${text.trimEnd()}`),
      });
    },
    close(): Promise<void> {
      ctx.pool.close();
      return Promise.resolve();
    },
  };
}
