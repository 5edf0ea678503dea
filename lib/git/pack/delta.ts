/** Applying a git delta (copy/insert instructions) to its base object. */
import { CorruptError } from "../../errors/mod.ts";

function varint(delta: Uint8Array, at: { i: number }): number {
  let value = 0;
  let shift = 1;
  for (;;) {
    const byte = delta[at.i++];
    if (byte === undefined) throw new CorruptError("A Git delta is truncated.");
    value += (byte & 0x7f) * shift;
    shift *= 128;
    if ((byte & 0x80) === 0) return value;
  }
}

/** Rebuilds the target object from `base` and `delta`. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  const at = { i: 0 };
  const baseSize = varint(delta, at);
  if (baseSize !== base.length) {
    throw new CorruptError("A Git delta does not match the size of its base object.");
  }
  const out = new Uint8Array(varint(delta, at));
  let pos = 0;
  while (at.i < delta.length) {
    const op = delta[at.i++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) offset += delta[at.i++]! * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (16 << b)) size += delta[at.i++]! << (8 * b);
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || pos + size > out.length) {
        throw new CorruptError("A Git delta copies outside its base object.");
      }
      out.set(base.subarray(offset, offset + size), pos);
      pos += size;
    } else if (op !== 0) {
      if (pos + op > out.length || at.i + op > delta.length) {
        throw new CorruptError("A Git delta is truncated.");
      }
      out.set(delta.subarray(at.i, at.i + op), pos);
      at.i += op;
      pos += op;
    } else {
      throw new CorruptError("A Git delta has an invalid instruction.");
    }
  }
  if (pos !== out.length) throw new CorruptError("A Git delta produced the wrong size.");
  return out;
}
