/**
 * Reading what a Git server says first: the v0 ref advertisement, the v2
 * capability list, and the v2 `ls-refs` command.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import { isValidRefName } from "../ref_name.ts";
import type { Advertisement } from "../transport/types.ts";
import {
  checkErrPacket,
  DELIM_PKT,
  encodePkt,
  FLUSH_PKT,
  type PktReader,
  pktText,
} from "./pkt_line.ts";
import { concatBytes } from "../../util/bytes.ts";

const OID_RE = /^[0-9a-f]{40}$/;

function badLine(line: string): GitRemoteError {
  const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
  return new GitRemoteError(`The Git remote sent an unexpected ref line ${JSON.stringify(shown)}.`);
}

function headTargetOf(capabilities: ReadonlySet<string>): string | undefined {
  for (const cap of capabilities) {
    if (cap.startsWith("symref=HEAD:")) {
      const target = cap.slice("symref=HEAD:".length);
      return isValidRefName(target) ? target : undefined;
    }
  }
  return undefined;
}

/** A ref an advertisement may name: HEAD, or a well-formed name under refs/. */
function isListedRef(name: string): boolean {
  return name === "HEAD" || isValidRefName(name);
}

/** Reads v2 capability lines up to the flush (a leading `version 2` line is skipped). */
export async function readV2Capabilities(reader: PktReader): Promise<Set<string>> {
  const caps = new Set<string>();
  for (;;) {
    const pkt = await reader.read();
    if (pkt === null) {
      throw new GitRemoteError(
        "The Git remote closed the connection while listing its capabilities.",
      );
    }
    if (pkt.kind !== "data") return caps;
    const line = pktText(pkt.data);
    checkErrPacket(line);
    if (line !== "version 2") caps.add(line);
  }
}

/**
 * Reads a v0 advertisement (`<oid> <ref>\0<caps>` then `<oid> <ref>` lines,
 * flush). With `smartHttp` the `# service=…` header and its flush come
 * first. A server answering `version 2` yields `protocol: 2`, its capability
 * list and no refs: the caller then runs `ls-refs`.
 */
export async function readV0Advertisement(
  reader: PktReader,
  options: { smartHttp: boolean },
): Promise<Advertisement> {
  let pkt = await reader.read();
  if (options.smartHttp) {
    if (pkt?.kind !== "data" || !pktText(pkt.data).startsWith("# service=")) {
      throw new GitRemoteError(
        "The Git server did not answer with a smart-HTTP ref advertisement.",
      );
    }
    // git's http-backend puts a flush after the service line.
    pkt = await reader.read();
    if (pkt?.kind === "flush") pkt = await reader.read();
  }
  if (pkt === null) {
    throw new GitRemoteError("The Git remote closed the connection before sending its refs.");
  }
  if (pkt.kind === "data") {
    const first = pktText(pkt.data);
    checkErrPacket(first);
    if (first === "version 2") {
      return { refs: new Map(), capabilities: await readV2Capabilities(reader), protocol: 2 };
    }
    if (first === "version 1") pkt = await reader.read();
  }

  const refs = new Map<string, string>();
  const shallow: string[] = [];
  let capabilities = new Set<string>();
  let isFirst = true;
  while (pkt !== null && pkt.kind === "data") {
    let line = pktText(pkt.data);
    checkErrPacket(line);
    if (isFirst) {
      const nul = line.indexOf("\0");
      if (nul >= 0) {
        capabilities = new Set(line.slice(nul + 1).split(" ").filter((c) => c !== ""));
        line = line.slice(0, nul);
      }
      isFirst = false;
    }
    if (line.startsWith("shallow ")) {
      // A shallow server names the commits where its own history stops.
      const oid = line.slice(8);
      if (!OID_RE.test(oid)) throw badLine(line);
      shallow.push(oid);
    } else {
      const space = line.indexOf(" ");
      const oid = line.slice(0, space);
      const name = line.slice(space + 1);
      if (space !== 40 || !OID_RE.test(oid) || name === "") throw badLine(line);
      // Peeled tags and the empty-repository placeholder are not refs; a
      // malformed name is dropped, as git's fetch drops it.
      if (!name.endsWith("^{}") && isListedRef(name)) refs.set(name, oid);
    }
    pkt = await reader.read();
  }
  if (pkt === null) {
    throw new GitRemoteError("The Git remote closed the connection while sending its refs.");
  }
  const headTarget = headTargetOf(capabilities);
  return {
    refs,
    capabilities,
    protocol: 0,
    ...(headTarget === undefined ? {} : { headTarget }),
    ...(shallow.length === 0 ? {} : { shallow }),
  };
}

/** The v2 `ls-refs` request (symrefs, and one `ref-prefix` per prefix). */
export function buildLsRefsRequest(prefixes: readonly string[], agent: string): Uint8Array {
  const parts = [
    encodePkt("command=ls-refs\n"),
    encodePkt(`agent=${agent}\n`),
    DELIM_PKT,
    encodePkt("symrefs\n"),
    ...prefixes.map((p) => encodePkt(`ref-prefix ${p}\n`)),
    FLUSH_PKT,
  ];
  return concatBytes(parts);
}

/** Reads the `ls-refs` answer: `<oid> <ref>[ symref-target:<t>][ peeled:<oid>]` lines, flush. */
export async function readLsRefsResponse(
  reader: PktReader,
): Promise<{ refs: Map<string, string>; headTarget?: string }> {
  const refs = new Map<string, string>();
  let headTarget: string | undefined;
  for (;;) {
    const pkt = await reader.read();
    if (pkt === null) {
      throw new GitRemoteError("The Git remote closed the connection while listing its refs.");
    }
    if (pkt.kind !== "data") break;
    const line = pktText(pkt.data);
    checkErrPacket(line);
    const [oid, name, ...attrs] = line.split(" ");
    if (oid === undefined || name === undefined || name === "") throw badLine(line);
    const target = attrs.find((a) => a.startsWith("symref-target:"))?.slice(14);
    if (name === "HEAD" && target !== undefined && isValidRefName(target)) headTarget = target;
    if (oid === "unborn") continue;
    if (!OID_RE.test(oid)) throw badLine(line);
    if (isListedRef(name)) refs.set(name, oid);
  }
  return headTarget === undefined ? { refs } : { refs, headTarget };
}

/** Keeps refs whose names start with one of `prefixes` (all of them when none are given). */
export function filterRefs(
  refs: ReadonlyMap<string, string>,
  prefixes: readonly string[] | undefined,
): Map<string, string> {
  if (prefixes === undefined || prefixes.length === 0) return new Map(refs);
  const out = new Map<string, string>();
  for (const [name, oid] of refs) {
    if (prefixes.some((p) => name.startsWith(p))) out.set(name, oid);
  }
  return out;
}
