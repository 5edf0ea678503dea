/**
 * A streaming tar writer: each member's header (a pax header first when a
 * name or size does not fit ustar), its body as it comes, padding; two zero
 * blocks at the end. Nothing is buffered here beyond one header.
 */
import { BLOCK, needsPax, paddingAfter, paxRecords, TYPE, ustarBlock } from "./tar_header.ts";

/** Where the archive's bytes go. `write` resolves once the chunk may be reused. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** A member to write. */
export interface TarMember {
  /** Relative `/`-separated name. */
  readonly path: string;
  readonly size: number;
  /** Permission bits; default 0o644. */
  readonly mode?: number;
  /** Seconds since the epoch; default 0. */
  readonly mtime?: number;
}

const ZEROS = new Uint8Array(BLOCK * 2);

export class TarWriter {
  readonly #sink: ByteSink;
  /** Bytes written so far. */
  bytes = 0;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  async #put(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    await this.#sink.write(chunk);
  }

  /**
   * Writes one regular-file member. `body` must yield exactly `size` bytes:
   * more or fewer throws (the archive written so far is then unusable).
   */
  async add(member: TarMember, body: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const mode = member.mode ?? 0o644;
    const mtime = member.mtime ?? 0;
    if (needsPax(member.path, member.size)) {
      const records = paxRecords(member.path, member.size);
      await this.#put(ustarBlock({
        path: paxName(member.path),
        size: records.length,
        mode: 0o644,
        mtime,
        type: TYPE.paxEntry,
      }));
      await this.#put(records);
      await this.#put(ZEROS.subarray(0, paddingAfter(records.length)));
    }
    await this.#put(ustarBlock({ path: asciiName(member.path), size: member.size, mode, mtime }));
    let written = 0;
    if (body instanceof Uint8Array) {
      written = body.length;
      if (written === member.size) await this.#put(body);
    } else {
      for await (const chunk of body) {
        written += chunk.length;
        if (written > member.size) break;
        await this.#put(chunk);
      }
    }
    if (written !== member.size) {
      throw new Error(
        `member '${member.path}' has ${written} bytes, not the ${member.size} announced`,
      );
    }
    await this.#put(ZEROS.subarray(0, paddingAfter(member.size)));
  }

  /** Writes the end-of-archive marker. */
  async end(): Promise<void> {
    await this.#put(ZEROS);
  }
}

/** The ustar name field when a pax header carries the real name: ASCII, at most 100 bytes. */
function asciiName(path: string): string {
  const ascii = path.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= 100 ? ascii : ascii.slice(ascii.length - 100);
}

/** The name of a pax header, as GNU tar makes it: `<dir>/PaxHeaders/<base>`. */
function paxName(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash);
  return asciiName(`${dir}/PaxHeaders/${path.slice(slash + 1)}`);
}
