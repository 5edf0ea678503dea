/**
 * The fetch side of the protocol: building upload-pack requests (v0 and v2)
 * and reading the pack out of the server's answer.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import { AGENT } from "./agent.ts";
import {
  checkErrPacket,
  concatBytes,
  DELIM_PKT,
  encodePkt,
  FLUSH_PKT,
  type PktReader,
  pktText,
} from "./pkt_line.ts";
import { demuxSideband } from "./sideband.ts";

function unique(oids: readonly string[]): string[] {
  return [...new Set(oids)];
}

/**
 * A v0 request: wants (capabilities on the first), flush, haves, `done`.
 * Only capabilities the server offered are asked for; never `thin-pack`.
 */
export function buildV0FetchRequest(
  wants: readonly string[],
  haves: readonly string[],
  serverCaps: ReadonlySet<string>,
): Uint8Array {
  const wanted = unique(wants);
  if (wanted.length === 0) return FLUSH_PKT;
  const caps: string[] = [];
  if (serverCaps.has("side-band-64k")) caps.push("side-band-64k");
  else if (serverCaps.has("side-band")) caps.push("side-band");
  if (serverCaps.has("ofs-delta")) caps.push("ofs-delta");
  if (serverCaps.has("no-progress")) caps.push("no-progress");
  if ([...serverCaps].some((c) => c.startsWith("agent="))) caps.push(`agent=${AGENT}`);
  const parts = wanted.map((oid, i) =>
    encodePkt(i === 0 && caps.length > 0 ? `want ${oid} ${caps.join(" ")}\n` : `want ${oid}\n`)
  );
  parts.push(FLUSH_PKT);
  for (const oid of unique(haves)) parts.push(encodePkt(`have ${oid}\n`));
  parts.push(encodePkt("done\n"));
  return concatBytes(parts);
}

/** A v2 `command=fetch` request ending with `done` (no further negotiation). */
export function buildV2FetchRequest(
  wants: readonly string[],
  haves: readonly string[],
): Uint8Array {
  const parts = [
    encodePkt("command=fetch\n"),
    encodePkt(`agent=${AGENT}\n`),
    DELIM_PKT,
    encodePkt("ofs-delta\n"),
    encodePkt("no-progress\n"),
  ];
  for (const oid of unique(wants)) parts.push(encodePkt(`want ${oid}\n`));
  for (const oid of unique(haves)) parts.push(encodePkt(`have ${oid}\n`));
  parts.push(encodePkt("done\n"), FLUSH_PKT);
  return concatBytes(parts);
}

export interface ReadPackOptions {
  /** v0 only: whether side-band was negotiated (it is whenever the server offers it). */
  readonly sideband?: boolean;
  readonly onProgress?: (text: string) => void;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk.slice());
  return concatBytes(parts);
}

const PACK_MAGIC = "PACK";
const decoder = new TextDecoder();

async function readV0(reader: PktReader, options: ReadPackOptions): Promise<Uint8Array> {
  for (;;) {
    // Without side-band the pack follows the ACK/NAK lines unframed.
    if (decoder.decode(await reader.peek(4)) === PACK_MAGIC) return await reader.readRest();
    const pkt = await reader.read();
    if (pkt === null || pkt.kind === "flush") return new Uint8Array(0);
    if (pkt.kind !== "data") continue;
    const first = pkt.data[0];
    if (first === 0x41 || first === 0x4e || first === 0x45) {
      const text = pktText(pkt.data);
      if (text === "NAK" || text.startsWith("ACK ")) continue;
      checkErrPacket(text);
    }
    if (options.sideband === false) {
      throw new GitRemoteError("The Git remote sent an unexpected line instead of a pack.");
    }
    // The first side-band packet is already read: feed it, then the rest.
    return await collect(withFirst(pkt.data, reader, options.onProgress));
  }
}

async function* withFirst(
  first: Uint8Array,
  reader: PktReader,
  onProgress?: (text: string) => void,
): AsyncGenerator<Uint8Array> {
  const channel = first[0];
  if (channel === 1) yield first.subarray(1);
  else if (channel === 2) onProgress?.(decoder.decode(first.subarray(1)));
  else if (channel === 3) {
    const text = decoder.decode(first.subarray(1)).trim().replace(/\s*\n\s*/g, " ");
    throw new GitRemoteError(`The Git remote reported an error: ${text}`);
  } else {
    throw new GitRemoteError("The Git remote sent an unexpected answer instead of a pack.");
  }
  yield* demuxSideband(reader, onProgress);
}

async function readV2(reader: PktReader, options: ReadPackOptions): Promise<Uint8Array> {
  for (;;) {
    const header = await reader.read();
    if (header === null || header.kind === "flush") return new Uint8Array(0);
    if (header.kind !== "data") continue;
    const name = pktText(header.data);
    checkErrPacket(name);
    if (name === "packfile") return await collect(demuxSideband(reader, options.onProgress));
    // acknowledgments, shallow-info, wanted-refs, packfile-uris: not used here.
    for (;;) {
      const pkt = await reader.read();
      if (pkt === null || pkt.kind === "flush") return new Uint8Array(0);
      if (pkt.kind === "delim") break;
      if (pkt.kind === "data") checkErrPacket(pktText(pkt.data));
    }
  }
}

/**
 * Reads the server's answer to a fetch request and returns the pack bytes
 * ("PACK…"), or an empty array when the server sent no pack.
 */
export async function readPackResponse(
  reader: PktReader,
  protocol: 0 | 2,
  options: ReadPackOptions = {},
): Promise<Uint8Array> {
  return protocol === 2 ? await readV2(reader, options) : await readV0(reader, options);
}
