/**
 * Git pkt-line framing: a 4-hex-digit length (including itself) then the
 * payload; `0000` flush, `0001` delimiter and `0002` response-end are the
 * special packets. Pure over bytes, shared by every transport.
 */
import { GitRemoteError } from "../../errors/mod.ts";
import { concatBytes } from "../../util/bytes.ts";

export const FLUSH_PKT: Uint8Array = new TextEncoder().encode("0000");
export const DELIM_PKT: Uint8Array = new TextEncoder().encode("0001");
export const RESPONSE_END_PKT: Uint8Array = new TextEncoder().encode("0002");

/** Largest payload a pkt-line may carry (65520 minus the 4 length bytes). */
export const MAX_PKT_PAYLOAD = 65516;

export type Pkt =
  | { kind: "data"; data: Uint8Array }
  | { kind: "flush" }
  | { kind: "delim" }
  | { kind: "response-end" };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX = "0123456789abcdef";

/** Frames one payload as a pkt-line. */
export function encodePkt(data: string | Uint8Array): Uint8Array {
  const payload = typeof data === "string" ? encoder.encode(data) : data;
  const total = payload.length + 4;
  if (payload.length > MAX_PKT_PAYLOAD) {
    throw new RangeError(`pkt-line payload of ${payload.length} bytes is too long`);
  }
  const out = new Uint8Array(total);
  out[0] = HEX.charCodeAt((total >> 12) & 15);
  out[1] = HEX.charCodeAt((total >> 8) & 15);
  out[2] = HEX.charCodeAt((total >> 4) & 15);
  out[3] = HEX.charCodeAt(total & 15);
  out.set(payload, 4);
  return out;
}

/** Text of a data packet without its trailing newline. */
export function pktText(data: Uint8Array): string {
  const text = decoder.decode(data);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Reads pkt-lines from a byte stream. Chunk boundaries of the source do not
 * matter; bytes after the last packet can be taken raw with `readRest()`
 * (a v0 pack sent without side-band follows the pkt-lines unframed).
 */
export class PktReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Makes sure `n` unread bytes are buffered; false when the stream ended first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#buf.length - this.#pos < n) {
      if (this.#ended) return false;
      const next = await this.#source.next();
      if (next.done) {
        this.#ended = true;
        return false;
      }
      if (next.value.length === 0) continue;
      const rest = this.#buf.length - this.#pos;
      if (rest === 0) {
        this.#buf = next.value;
      } else {
        const merged = new Uint8Array(rest + next.value.length);
        merged.set(this.#buf.subarray(this.#pos), 0);
        merged.set(next.value, rest);
        this.#buf = merged;
      }
      this.#pos = 0;
    }
    return true;
  }

  /** The next packet, or null at a clean end of stream (between packets). */
  async read(): Promise<Pkt | null> {
    if (!(await this.#fill(4))) {
      if (this.#buf.length - this.#pos === 0) return null;
      throw new GitRemoteError("The Git remote closed the connection in the middle of a packet.");
    }
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const v = hexValue(this.#buf[this.#pos + i]!);
      if (v < 0) {
        const shown = decoder.decode(this.#buf.subarray(this.#pos, this.#pos + 4));
        throw new GitRemoteError(
          `The Git remote sent a malformed pkt-line length ${JSON.stringify(shown)}.`,
        );
      }
      len = len * 16 + v;
    }
    if (len === 0 || len === 1 || len === 2) {
      this.#pos += 4;
      return { kind: len === 0 ? "flush" : len === 1 ? "delim" : "response-end" };
    }
    if (len < 4) {
      throw new GitRemoteError(`The Git remote sent a malformed pkt-line length ${len}.`);
    }
    if (!(await this.#fill(len))) {
      throw new GitRemoteError("The Git remote closed the connection in the middle of a packet.");
    }
    const data = this.#buf.subarray(this.#pos + 4, this.#pos + len);
    this.#pos += len;
    return { kind: "data", data };
  }

  /** Next data packet as text (newline removed); null for a flush/delim/end or EOF. */
  async readDataText(): Promise<string | null> {
    const pkt = await this.read();
    if (pkt === null || pkt.kind !== "data") return null;
    return pktText(pkt.data);
  }

  /** The next `n` bytes without consuming them (fewer at the end of the stream). */
  async peek(n: number): Promise<Uint8Array> {
    await this.#fill(n);
    return this.#buf.subarray(this.#pos, Math.min(this.#pos + n, this.#buf.length));
  }

  /** Everything left in the stream, unframed. */
  async readRest(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [this.#buf.subarray(this.#pos)];
    this.#buf = new Uint8Array(0);
    this.#pos = 0;
    while (!this.#ended) {
      const next = await this.#source.next();
      if (next.done) this.#ended = true;
      else parts.push(next.value);
    }
    return concatBytes(parts);
  }
}

/** An `ERR <message>` packet from the server becomes a one-line error. */
export function checkErrPacket(text: string): void {
  if (text.startsWith("ERR ")) {
    throw new GitRemoteError(`The Git remote reported an error: ${text.slice(4).trim()}`);
  }
}
