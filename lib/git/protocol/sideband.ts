/**
 * Side-band demultiplexing: each data packet starts with a channel byte —
 * 1 payload, 2 progress text, 3 a fatal error message from the server.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import type { PktReader } from "./pkt_line.ts";

const decoder = new TextDecoder();

/**
 * Yields the channel-1 payloads until the flush that ends the side-band
 * stream (or the end of the stream). Progress goes to `onProgress`. With
 * `requireFlush`, an end of stream before that flush is an error: the
 * server (or the connection) stopped half-way.
 */
export async function* demuxSideband(
  reader: PktReader,
  onProgress?: (text: string) => void,
  requireFlush = false,
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const pkt = await reader.read();
    if (pkt === null && requireFlush) {
      throw new GitRemoteError(
        "The Git remote closed the connection before it finished sending its objects; nothing was stored.",
      );
    }
    if (pkt === null || pkt.kind !== "data") return;
    const channel = pkt.data[0];
    const payload = pkt.data.subarray(1);
    if (channel === 1) {
      yield payload;
    } else if (channel === 2) {
      onProgress?.(decoder.decode(payload));
    } else if (channel === 3) {
      const text = decoder.decode(payload).trim().replace(/\s*\n\s*/g, " ");
      throw new GitRemoteError(`The Git remote reported an error: ${text}`);
    } else {
      throw new GitRemoteError(`The Git remote sent data on unknown side-band channel ${channel}.`);
    }
  }
}
