/**
 * One fetch exchange over any pkt-line connection: the request bytes for the
 * protocol the server speaks, and its answer read back into a pack plus
 * shallow changes. Shared by the stream (ssh) and HTTP transports.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import type { Advertisement, FetchedPack, FetchRequest } from "../transport/types.ts";
import type { PktReader } from "./pkt_line.ts";
import {
  buildV0FetchRequest,
  buildV2FetchRequest,
  readPackResponse,
  serverSupportsShallow,
} from "./upload_pack.ts";

/** The bytes of `request` for `advertisement`'s protocol; refuses shallow requests the server cannot take. */
export function fetchRequestBytes(
  request: FetchRequest,
  advertisement: Advertisement,
  displayUrl: string,
): Uint8Array {
  const shallow = request.shallow ?? [];
  const options = {
    ...(shallow.length === 0 ? {} : { shallow }),
    ...(request.depth === undefined ? {} : { depth: request.depth }),
  };
  if (
    (shallow.length > 0 || request.depth !== undefined) &&
    !serverSupportsShallow(advertisement.protocol, advertisement.capabilities)
  ) {
    throw new GitRemoteError(
      `The Git remote '${displayUrl}' does not serve shallow clones; make this clone complete with 'git fetch --unshallow' from another remote, or clone it again without --depth.`,
    );
  }
  return advertisement.protocol === 2
    ? buildV2FetchRequest(request.wants, request.haves, options)
    : buildV0FetchRequest(request.wants, request.haves, advertisement.capabilities, options);
}

/** Reads the answer to a request made with {@link fetchRequestBytes}. */
export async function readFetchAnswer(
  reader: PktReader,
  request: FetchRequest,
  advertisement: Advertisement,
  onProgress?: (text: string) => void,
): Promise<FetchedPack> {
  const caps = advertisement.capabilities;
  const answer = await readPackResponse(reader, advertisement.protocol, {
    sideband: caps.has("side-band-64k") || caps.has("side-band"),
    deepen: request.depth !== undefined,
    ...(onProgress === undefined ? {} : { onProgress }),
  });
  // v0 names a shallow server's own boundary in its advertisement, not in the answer.
  const theirs = request.depth === undefined ? advertisement.shallow ?? [] : [];
  return {
    pack: answer.pack,
    shallow: [...new Set([...answer.shallow, ...theirs])],
    unshallow: answer.unshallow,
  };
}

/** An empty answer: nothing wanted, nothing sent (git sends no request then either). */
export const NOTHING_FETCHED: FetchedPack = { pack: new Uint8Array(0), shallow: [], unshallow: [] };
