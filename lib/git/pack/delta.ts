/** Applying a git delta (copy/insert instructions) to its base object. */
import { CorruptError } from "../../errors/mod.ts";
import { formatBytes, MAX_OBJECT_BYTES } from "./limits.ts";

function varint(delta: Uint8Array, at: { i: number }): number {
  let value = 0;
  let shift = 1;
  for (;;) {
    const byte = delta[at.i++];
    if (byte === undefined) throw new CorruptError("A Git delta is truncated.");
    value += (byte & 0x7f) * shift;
    shift *= 128;
    if ((byte & 0x80) === 0) return value;
    if (shift > 2 ** 56) throw new CorruptError("A Git delta has a malformed size.");
  }
}

/** One copy instruction's base offset and length, read at `at` (after its opcode). */
function copyArgs(delta: Uint8Array, op: number, at: { i: number }): [number, number] {
  let offset = 0;
  let size = 0;
  for (let b = 0; b < 4; b++) {
    if (op & (1 << b)) {
      const byte = delta[at.i++];
      if (byte === undefined) throw new CorruptError("A Git delta is truncated.");
      offset += byte * 2 ** (8 * b);
    }
  }
  for (let b = 0; b < 3; b++) {
    if (op & (16 << b)) {
      const byte = delta[at.i++];
      if (byte === undefined) throw new CorruptError("A Git delta is truncated.");
      size += byte << (8 * b);
    }
  }
  return [offset, size === 0 ? 0x10000 : size];
}

/**
 * Checks every instruction against the base and adds up what they produce,
 * without producing it: the declared result size is trusted (and allocated)
 * only once the instructions are known to make exactly that many bytes.
 */
function checkInstructions(base: Uint8Array, delta: Uint8Array, from: number, size: number): void {
  const at = { i: from };
  let pos = 0;
  while (at.i < delta.length) {
    const op = delta[at.i++]!;
    if (op & 0x80) {
      const [offset, length] = copyArgs(delta, op, at);
      if (offset + length > base.length || pos + length > size) {
        throw new CorruptError("A Git delta copies outside its base object.");
      }
      pos += length;
    } else if (op !== 0) {
      if (pos + op > size || at.i + op > delta.length) {
        throw new CorruptError("A Git delta is truncated.");
      }
      at.i += op;
      pos += op;
    } else {
      throw new CorruptError("A Git delta has an invalid instruction.");
    }
  }
  if (pos !== size) throw new CorruptError("A Git delta produced the wrong size.");
}

/** The size a delta declares for its result (without checking it). */
export function deltaResultSize(delta: Uint8Array): number {
  const at = { i: 0 };
  varint(delta, at);
  return varint(delta, at);
}

/**
 * Rebuilds the target object from `base` and `delta`. A result larger than
 * {@link MAX_OBJECT_BYTES}, or instructions that do not make the declared
 * size, are refused before the result is allocated.
 */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  const at = { i: 0 };
  const baseSize = varint(delta, at);
  if (baseSize !== base.length) {
    throw new CorruptError("A Git delta does not match the size of its base object.");
  }
  const size = varint(delta, at);
  if (size > MAX_OBJECT_BYTES) {
    throw new CorruptError(
      `A Git delta makes an object of ${formatBytes(size)}, too large for dxp ` +
        `(at most ${formatBytes(MAX_OBJECT_BYTES)}).`,
    );
  }
  checkInstructions(base, delta, at.i, size);
  const out = new Uint8Array(size);
  let pos = 0;
  while (at.i < delta.length) {
    const op = delta[at.i++]!;
    if (op & 0x80) {
      const [offset, length] = copyArgs(delta, op, at);
      out.set(base.subarray(offset, offset + length), pos);
      pos += length;
    } else {
      out.set(delta.subarray(at.i, at.i + op), pos);
      at.i += op;
      pos += op;
    }
  }
  return out;
}
