/**
 * The push side of the protocol: the receive-pack request (ref commands and
 * pack) and the server's report-status.
 */
import { newDigest } from "../../util/digest.ts";
import { GitRemoteError } from "../../errors/mod.ts";
import type { RefUpdate, RefUpdateResult } from "../transport/types.ts";
import { ZERO_OID } from "../transport/types.ts";
import { AGENT } from "./agent.ts";
import { concatBytes } from "../../util/bytes.ts";
import { checkErrPacket, encodePkt, FLUSH_PKT, PktReader, pktText } from "./pkt_line.ts";
import { demuxSideband } from "./sideband.ts";

/** A pack with no objects: what git sends when the remote already has everything. */
export function emptyPack(): Uint8Array {
  const header = new Uint8Array([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
  return concatBytes([header, newDigest("sha1").update(header).bytes()]);
}

/**
 * Builds the whole receive-pack request: one command per update (the first
 * carrying our capabilities), flush, then the pack unless every update is a
 * delete. With no updates at all only a flush is sent (ends the session).
 */
export function buildReceivePackRequest(
  updates: readonly RefUpdate[],
  pack: Uint8Array | null,
  serverCaps: ReadonlySet<string>,
  options: { atomic: boolean },
): Uint8Array {
  if (updates.length === 0) return FLUSH_PKT;
  const caps = ["report-status"];
  if (serverCaps.has("side-band-64k")) caps.push("side-band-64k");
  if (options.atomic && serverCaps.has("atomic")) caps.push("atomic");
  if (serverCaps.has("quiet")) caps.push("quiet");
  if ([...serverCaps].some((c) => c.startsWith("agent="))) caps.push(`agent=${AGENT}`);
  const parts: Uint8Array[] = updates.map((u, i) =>
    encodePkt(
      i === 0
        ? `${u.oldOid} ${u.newOid} ${u.ref}\0${caps.join(" ")}\n`
        : `${u.oldOid} ${u.newOid} ${u.ref}\n`,
    )
  );
  parts.push(FLUSH_PKT);
  const deleteOnly = updates.every((u) => u.newOid === ZERO_OID);
  if (!deleteOnly) parts.push(pack ?? emptyPack());
  return concatBytes(parts);
}

/**
 * Reads report-status (`unpack ok|<error>`, then `ok <ref>` / `ng <ref> <reason>`).
 * With `updates`, the result has exactly one entry per update, in their order
 * (a ref the server did not mention counts as failed); an unpack error fails
 * every ref with that reason.
 */
export async function readReportStatus(
  reader: PktReader,
  options: {
    sideband: boolean;
    updates?: readonly RefUpdate[];
    onProgress?: (text: string) => void;
  },
): Promise<RefUpdateResult[]> {
  const inner = options.sideband
    ? new PktReader(demuxSideband(reader, options.onProgress))
    : reader;
  const first = await inner.read();
  if (first === null || first.kind !== "data") {
    throw new GitRemoteError(
      "The Git remote closed the connection without reporting the push status.",
    );
  }
  const unpackLine = pktText(first.data);
  checkErrPacket(unpackLine);
  if (!unpackLine.startsWith("unpack ")) {
    throw new GitRemoteError(
      `The Git remote sent an unexpected push status ${JSON.stringify(unpackLine)}.`,
    );
  }
  const unpackError = unpackLine === "unpack ok" ? undefined : unpackLine.slice(7);
  const reported: RefUpdateResult[] = [];
  for (;;) {
    const pkt = await inner.read();
    if (pkt === null || pkt.kind !== "data") break;
    const line = pktText(pkt.data);
    checkErrPacket(line);
    if (line.startsWith("ok ")) {
      reported.push({ ref: line.slice(3), ok: true });
    } else if (line.startsWith("ng ")) {
      const rest = line.slice(3);
      const space = rest.indexOf(" ");
      const ref = space < 0 ? rest : rest.slice(0, space);
      const reason = space < 0 ? "rejected" : rest.slice(space + 1);
      reported.push({ ref, ok: false, reason });
    }
  }
  if (options.sideband) {
    // Drain the rest of the side-band stream up to its flush.
    while ((await inner.read()) !== null) { /* nothing else is expected */ }
  }
  const withUnpack = unpackError === undefined ? reported : reported.map((r) => ({
    ref: r.ref,
    ok: false,
    reason: r.reason ?? `unpack failed: ${unpackError}`,
  }));
  if (options.updates === undefined) return withUnpack;
  const byRef = new Map(withUnpack.map((r) => [r.ref, r]));
  return options.updates.map((u) =>
    byRef.get(u.ref) ??
      {
        ref: u.ref,
        ok: false,
        reason: unpackError === undefined
          ? "no status reported by the remote"
          : `unpack failed: ${unpackError}`,
      }
  );
}
