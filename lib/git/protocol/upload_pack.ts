/**
 * The fetch side of the protocol: building upload-pack requests (v0 and v2)
 * and reading the pack out of the server's answer.
 */
import { concatBytes } from "../../util/bytes.ts";
import { GitRemoteError } from "../../errors/mod.ts";
import { AGENT } from "./agent.ts";
import {
  checkErrPacket,
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

/** The shallow part of a fetch request (gitprotocol-pack "shallow-line", "depth-request"). */
export interface ShallowRequest {
  /** Commits where our history stops (`.git/shallow`): the server must not assume their parents. */
  readonly shallow?: readonly string[];
  /** Limit the history sent to this many commits from each want (`deepen <n>`). */
  readonly depth?: number;
}

function shallowLines(options: ShallowRequest): Uint8Array[] {
  const parts = unique(options.shallow ?? []).map((oid) => encodePkt(`shallow ${oid}\n`));
  if (options.depth !== undefined) parts.push(encodePkt(`deepen ${options.depth}\n`));
  return parts;
}

/**
 * A v0 request: wants (capabilities on the first), our shallow commits and
 * `deepen`, flush, haves, `done`. Only capabilities the server offered are
 * asked for; never `thin-pack`. Sent in one piece: with `deepen` the server
 * answers the shallow part before it reads the haves, which are already
 * waiting in its input.
 */
export function buildV0FetchRequest(
  wants: readonly string[],
  haves: readonly string[],
  serverCaps: ReadonlySet<string>,
  shallow: ShallowRequest = {},
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
  parts.push(...shallowLines(shallow));
  parts.push(FLUSH_PKT);
  for (const oid of unique(haves)) parts.push(encodePkt(`have ${oid}\n`));
  parts.push(encodePkt("done\n"));
  return concatBytes(parts);
}

/** A v2 `command=fetch` request ending with `done` (no further negotiation). */
export function buildV2FetchRequest(
  wants: readonly string[],
  haves: readonly string[],
  shallow: ShallowRequest = {},
): Uint8Array {
  const parts = [
    encodePkt("command=fetch\n"),
    encodePkt(`agent=${AGENT}\n`),
    DELIM_PKT,
    encodePkt("ofs-delta\n"),
    encodePkt("no-progress\n"),
    ...shallowLines(shallow),
  ];
  for (const oid of unique(wants)) parts.push(encodePkt(`want ${oid}\n`));
  for (const oid of unique(haves)) parts.push(encodePkt(`have ${oid}\n`));
  parts.push(encodePkt("done\n"), FLUSH_PKT);
  return concatBytes(parts);
}

/**
 * Whether the server accepts shallow requests: the v0 `shallow` capability,
 * or the `shallow` feature of v2's `fetch` command.
 */
export function serverSupportsShallow(protocol: 0 | 2, capabilities: ReadonlySet<string>): boolean {
  if (protocol === 0) return capabilities.has("shallow");
  for (const cap of capabilities) {
    if (cap.startsWith("fetch=") && cap.slice(6).split(" ").includes("shallow")) return true;
  }
  return false;
}

/** The server's answer to a fetch: the pack and its changes to our shallow boundary. */
export interface PackResponse {
  /** The packfile ("PACK…"), or empty when the server sent none. */
  readonly pack: Uint8Array;
  /** Commits the server sent without their parents: new shallow commits for us. */
  readonly shallow: string[];
  /** Our shallow commits whose parents the server now sent. */
  readonly unshallow: string[];
}

export interface ReadPackOptions {
  /** v0 only: whether side-band was negotiated (it is whenever the server offers it). */
  readonly sideband?: boolean;
  /** v0 only: the request carried `deepen`, so a shallow-update section comes first. */
  readonly deepen?: boolean;
  readonly onProgress?: (text: string) => void;
}

const OID_RE = /^[0-9a-f]{40}$/;

/** Reads one `shallow <oid>` / `unshallow <oid>` line into `into`; false for any other line. */
function shallowLine(text: string, into: { shallow: string[]; unshallow: string[] }): boolean {
  const space = text.indexOf(" ");
  const word = text.slice(0, space);
  const oid = text.slice(space + 1);
  if ((word !== "shallow" && word !== "unshallow") || !OID_RE.test(oid)) return false;
  into[word].push(oid);
  return true;
}

/** Reads shallow/unshallow lines up to the flush or delimiter that ends them. */
async function readShallowSection(
  reader: PktReader,
  into: { shallow: string[]; unshallow: string[] },
): Promise<void> {
  for (;;) {
    const pkt = await reader.read();
    if (pkt === null) {
      throw new GitRemoteError("The Git remote closed the connection while sending shallow info.");
    }
    if (pkt.kind !== "data") return;
    const text = pktText(pkt.data);
    checkErrPacket(text);
    if (!shallowLine(text, into)) {
      const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
      throw new GitRemoteError(
        `The Git remote sent ${JSON.stringify(shown)} where shallow info was expected.`,
      );
    }
  }
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
  yield* demuxSideband(reader, onProgress, true);
}

async function readV2(
  reader: PktReader,
  options: ReadPackOptions,
  into: { shallow: string[]; unshallow: string[] },
): Promise<Uint8Array> {
  for (;;) {
    const header = await reader.read();
    if (header === null || header.kind === "flush") return new Uint8Array(0);
    if (header.kind !== "data") continue;
    const name = pktText(header.data);
    checkErrPacket(name);
    if (name === "packfile") {
      return await collect(demuxSideband(reader, options.onProgress, true));
    }
    if (name === "shallow-info") {
      await readShallowSection(reader, into);
      continue;
    }
    // acknowledgments, wanted-refs, packfile-uris: not used here.
    for (;;) {
      const pkt = await reader.read();
      if (pkt === null || pkt.kind === "flush") return new Uint8Array(0);
      if (pkt.kind === "delim") break;
      if (pkt.kind === "data") checkErrPacket(pktText(pkt.data));
    }
  }
}

/**
 * Reads the server's answer to a fetch request: the pack bytes ("PACK…",
 * empty when the server sent none) and the shallow/unshallow lines (v2
 * `shallow-info`; v0 shallow-update, which comes only after a `deepen`).
 */
export async function readPackResponse(
  reader: PktReader,
  protocol: 0 | 2,
  options: ReadPackOptions = {},
): Promise<PackResponse> {
  const into = { shallow: [] as string[], unshallow: [] as string[] };
  if (protocol === 2) return { pack: await readV2(reader, options, into), ...into };
  if (options.deepen) await readShallowSection(reader, into);
  return { pack: await readV0(reader, options), ...into };
}
