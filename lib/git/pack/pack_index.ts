/**
 * Reading one `objects/pack/pack-*.idx` (versions 1 and 2): where an object
 * sits in its pack, and where each pack entry ends.
 */
import { CorruptError } from "../../errors/mod.ts";

export class PackIndex {
  readonly count: number;
  readonly #idx: Uint8Array;
  readonly #view: DataView;
  readonly #version: 1 | 2;
  #sortedOffsets: Float64Array | undefined;
  readonly #packSize: number;
  readonly #largeOffsets: number;
  readonly #path: string;

  constructor(idx: Uint8Array, packSize: number, path: string) {
    this.#idx = idx;
    this.#view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
    this.#packSize = packSize;
    const v2 = idx.length >= 8 && this.#view.getUint32(0) === 0xff744f63;
    if (v2 && this.#view.getUint32(4) !== 2) {
      throw new CorruptError(
        `Pack index '${path}' has unsupported version ${this.#view.getUint32(4)}.`,
      );
    }
    this.#version = v2 ? 2 : 1;
    const fanoutAt = v2 ? 8 : 0;
    if (idx.length < fanoutAt + 1024) throw new CorruptError(`Pack index '${path}' is truncated.`);
    this.count = this.#view.getUint32(fanoutAt + 255 * 4);
    // Every table the lookups read must lie inside the file, and the fan-out
    // must never decrease: then no lookup can read out of bounds.
    const tables = v2 ? 8 + 1024 + this.count * 28 : 1024 + this.count * 24;
    if (idx.length < tables + 40) throw new CorruptError(`Pack index '${path}' is truncated.`);
    this.#largeOffsets = v2 ? Math.floor((idx.length - tables - 40) / 8) : 0;
    let previous = 0;
    for (let byte = 0; byte < 256; byte++) {
      const value = this.#view.getUint32(fanoutAt + byte * 4);
      if (value < previous) throw new CorruptError(`Pack index '${path}' is corrupt.`);
      previous = value;
    }
    this.#path = path;
  }

  #fanout(byte: number): number {
    return byte < 0 ? 0 : this.#view.getUint32((this.#version === 2 ? 8 : 0) + byte * 4);
  }

  #nameAt(i: number): number {
    return this.#version === 2 ? 8 + 1024 + i * 20 : 1024 + i * 24 + 4;
  }

  #offsetOf(i: number): number {
    if (this.#version === 1) return this.#view.getUint32(1024 + i * 24);
    const table = 8 + 1024 + this.count * 24;
    const value = this.#view.getUint32(table + i * 4);
    if ((value & 0x80000000) === 0) return value;
    if ((value & 0x7fffffff) >= this.#largeOffsets) {
      throw new CorruptError(`Pack index '${this.#path}' is corrupt.`);
    }
    const large = table + this.count * 4 + (value & 0x7fffffff) * 8;
    return this.#view.getUint32(large) * 2 ** 32 + this.#view.getUint32(large + 4);
  }

  /** Pack offset of `oid` (raw 20 bytes), or -1. */
  find(oid: Uint8Array): number {
    let lo = this.#fanout(oid[0]! - 1);
    let hi = this.#fanout(oid[0]!);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.#nameAt(mid);
      let cmp = 0;
      for (let k = 0; k < 20 && cmp === 0; k++) cmp = this.#idx[at + k]! - oid[k]!;
      if (cmp === 0) return this.#offsetOf(mid);
      if (cmp < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** Where the entry starting at `offset` ends (the next entry, or the trailer). */
  entryEnd(offset: number): number {
    if (this.#sortedOffsets === undefined) {
      const all = new Float64Array(this.count);
      for (let i = 0; i < this.count; i++) all[i] = this.#offsetOf(i);
      this.#sortedOffsets = all.sort();
    }
    const sorted = this.#sortedOffsets;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length ? sorted[lo]! : this.#packSize - 20;
  }
}
