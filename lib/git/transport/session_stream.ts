/**
 * Fetch and push sessions over one bidirectional byte stream (an ssh
 * process): the advertisement and the single request share the connection.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import { AGENT } from "../protocol/agent.ts";
import {
  buildLsRefsRequest,
  filterRefs,
  readLsRefsResponse,
  readV0Advertisement,
} from "../protocol/advertisement.ts";
import { FLUSH_PKT, type PktReader } from "../protocol/pkt_line.ts";
import { buildReceivePackRequest, readReportStatus } from "../protocol/receive_pack.ts";
import { fetchRequestBytes, NOTHING_FETCHED, readFetchAnswer } from "../protocol/fetch_exchange.ts";
import type {
  Advertisement,
  FetchedPack,
  FetchRequest,
  FetchSession,
  PushSession,
  RefUpdate,
  RefUpdateResult,
} from "./types.ts";

/** What a session needs from the connection underneath. */
export interface StreamConnection {
  readonly reader: PktReader;
  /** Queues bytes for the far end; resolves once they are handed to the OS. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends our input and waits for the far end to finish. */
  finish(): Promise<void>;
  /** Turns a failure seen during the session into the clearest error (e.g. from ssh's stderr). */
  explain(error: unknown): Promise<Error>;
  readonly onDebug?: ((line: string) => void) | undefined;
}

/**
 * Writes `request` while reading the answer (so neither side can block the
 * other on full pipes). A write error after a complete answer is ignored:
 * the far end may close as soon as it has answered.
 */
async function exchange<T>(
  conn: StreamConnection,
  request: Uint8Array,
  read: () => Promise<T>,
): Promise<T> {
  const writing = conn.write(request);
  writing.catch(() => undefined);
  try {
    return await read();
  } catch (e) {
    throw await conn.explain(e);
  }
}

async function guarded<T>(conn: StreamConnection, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw await conn.explain(e);
  }
}

async function endSession(conn: StreamConnection, goodbye: Uint8Array | null): Promise<void> {
  // A flush tells the server we are done, so it does not log "the remote end hung up".
  if (goodbye !== null) await conn.write(goodbye).catch(() => undefined);
  await conn.finish();
}

/** Reads an upload-pack advertisement, running `ls-refs` when the server speaks v2. */
export async function readUploadPackAdvertisement(
  conn: StreamConnection,
  prefixes: readonly string[] | undefined,
): Promise<Advertisement> {
  const first = await guarded(conn, () => readV0Advertisement(conn.reader, { smartHttp: false }));
  conn.onDebug?.(`git: server speaks protocol version ${first.protocol}`);
  if (first.protocol === 0) {
    return { ...first, refs: filterRefs(first.refs, prefixes) };
  }
  // Ask for HEAD too so its symref target is known whatever the prefixes.
  const wanted = prefixes === undefined || prefixes.length === 0 ? [] : [...prefixes, "HEAD"];
  const listed = await exchange(
    conn,
    buildLsRefsRequest(wanted, AGENT),
    () => readLsRefsResponse(conn.reader),
  );
  const refs = filterRefs(listed.refs, prefixes);
  return listed.headTarget === undefined
    ? { refs, capabilities: first.capabilities, protocol: 2 }
    : { refs, headTarget: listed.headTarget, capabilities: first.capabilities, protocol: 2 };
}

/** A fetch session on an upload-pack connection whose advertisement has been read. */
export function streamFetchSession(
  conn: StreamConnection,
  advertisement: Advertisement,
  displayUrl: string,
): FetchSession {
  let requested = false;
  let closed = false;
  const fetch = async (request: FetchRequest): Promise<FetchedPack> => {
    if (requested) throw new Error("fetch() can be called only once per session");
    if (request.wants.length === 0) return NOTHING_FETCHED;
    const bytes = fetchRequestBytes(request, advertisement, displayUrl);
    requested = true;
    const answer = await exchange(
      conn,
      bytes,
      () =>
        readFetchAnswer(
          conn.reader,
          request,
          advertisement,
          (text) => conn.onDebug?.(`remote: ${text.trimEnd()}`),
        ),
    );
    conn.onDebug?.(
      `git: received a pack of ${answer.pack.length} bytes` +
        (answer.shallow.length + answer.unshallow.length > 0
          ? ` (${answer.shallow.length} shallow, ${answer.unshallow.length} unshallow)`
          : ""),
    );
    return answer;
  };
  return {
    advertisement,
    fetch,
    fetchPack: async (wants, haves) => (await fetch({ wants, haves })).pack,
    async close() {
      if (closed) return;
      closed = true;
      // v0 upload-pack exits after sending the pack; otherwise say goodbye with a flush.
      await endSession(conn, requested && advertisement.protocol === 0 ? null : FLUSH_PKT);
    },
  };
}

/** A push session on a receive-pack connection. */
export async function streamPushSession(conn: StreamConnection): Promise<PushSession> {
  const advertisement = await guarded(
    conn,
    () => readV0Advertisement(conn.reader, { smartHttp: false }),
  );
  if (advertisement.protocol !== 0) {
    throw new GitRemoteError(
      "The Git remote answered receive-pack with an unsupported protocol version.",
    );
  }
  let sent = false;
  let closed = false;
  return {
    advertisement,
    async send(
      updates: readonly RefUpdate[],
      pack: Uint8Array | null,
      options,
    ): Promise<RefUpdateResult[]> {
      if (sent) throw new Error("send() can be called only once per session");
      sent = true;
      const caps = advertisement.capabilities;
      const request = buildReceivePackRequest(updates, pack, caps, options);
      if (updates.length === 0) {
        await conn.write(request).catch(() => undefined);
        return [];
      }
      conn.onDebug?.(`git: sending ${updates.length} ref update(s) and ${request.length} bytes`);
      return await exchange(conn, request, () =>
        readReportStatus(conn.reader, {
          sideband: caps.has("side-band-64k"),
          updates,
          onProgress: (text) => conn.onDebug?.(`remote: ${text.trimEnd()}`),
        }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await endSession(conn, sent ? null : FLUSH_PKT);
    },
  };
}
