/**
 * Reads a remote file as in-order chunks with many READ requests in flight,
 * for `writeAtomic` to hash, verify and rename locally. STAT and OPEN share
 * the first round trip; the size from STAT tells which ranges to ask for, so
 * a small file needs no extra request to discover its end.
 */
import { StoreError } from "../../errors/mod.ts";
import { abortError } from "../abort.ts";
import { InFlight } from "./in_flight.ts";
import { OPEN_FLAGS } from "./packet.ts";
import type { SftpClient } from "./sftp_client.ts";

/** Bytes gathered per local write. */
const GATHER = 1024 * 1024;

/** What a download needs besides the session. */
export interface DownloadSpec {
  readonly path: string;
  /** Bytes per READ request. */
  readonly chunkSize: number;
  /** READ requests in flight at most. */
  readonly window: number;
  readonly signal?: AbortSignal | undefined;
  /** Names the remote object in messages. */
  readonly label: string;
}

/** The remote file's bytes in order; the handle is closed when iteration ends. */
export async function* sftpChunks(
  client: SftpClient,
  spec: DownloadSpec,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = spec;
  const stat = client.stat(spec.path);
  const open = client.open(spec.path, OPEN_FLAGS.READ);
  const [attrs, handle] = await Promise.allSettled([stat, open]);
  if (handle.status === "rejected") throw handle.reason;
  if (attrs.status === "rejected") {
    client.close(handle.value).catch(() => undefined);
    throw attrs.reason;
  }
  const size = attrs.value.size ?? 0;
  const flight = new InFlight(spec.window);
  const onAbort = () => flight.fail(abortError(signal!));
  signal?.addEventListener("abort", onAbort, { once: true });
  const pieces = new Map<number, Uint8Array>();
  // Two alternating buffers (made when first needed): a yielded one stays valid until
  // the consumer asks for the next chunk.
  let buffers: Uint8Array[] | undefined;
  let current = 0;
  let gathered = 0;
  const gather = (piece: Uint8Array) => {
    buffers ??= [new Uint8Array(GATHER), new Uint8Array(GATHER)];
    buffers[current]!.set(piece, gathered);
    gathered += piece.length;
  };
  const flush = () => {
    const out = buffers![current]!.subarray(0, gathered);
    current = 1 - current;
    gathered = 0;
    return out;
  };
  const ask = (offset: number, length: number) => {
    flight.track(client.read(handle.value, offset, length), (data) => {
      if (data === null || data.length === 0) {
        throw new StoreError(
          `${spec.label} ended at ${offset} bytes while its size is ${size}; ` +
            "it changed while being read, retry.",
          { transient: true, data: { where: spec.path } },
        );
      }
      pieces.set(offset, data);
      // Servers may answer with fewer bytes than asked: ask for the rest.
      if (data.length < length) ask(offset + data.length, length - data.length);
    });
  };
  try {
    let requested = 0;
    let delivered = 0;
    while (delivered < size) {
      while (requested < size && flight.error === undefined) {
        await flight.slot();
        const length = Math.min(spec.chunkSize, size - requested);
        ask(requested, length);
        requested += length;
        if (pieces.has(delivered)) break;
      }
      let piece = pieces.get(delivered);
      while (piece === undefined && flight.error === undefined) {
        if (flight.pending === 0) {
          // Every answer is in and none starts here: the server skipped bytes.
          throw new StoreError(
            `The SFTP server sent no data at offset ${delivered} of ${spec.label}; retry.`,
            { transient: true, data: { where: spec.path } },
          );
        }
        await flight.changed();
        piece = pieces.get(delivered);
      }
      if (flight.error) throw flight.error.value;
      pieces.delete(delivered);
      delivered += piece!.length;
      // Small pieces are gathered into bigger writes: one local write per piece costs more.
      if (piece!.length >= GATHER || (gathered === 0 && delivered === size)) {
        if (gathered > 0) yield flush();
        yield piece!;
        continue;
      }
      if (gathered + piece!.length > GATHER) yield flush();
      gather(piece!);
      if (delivered === size) yield flush();
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Answers come in order: the close waits for no READ, and nobody needs its answer.
    client.close(handle.value).catch(() => undefined);
  }
}
