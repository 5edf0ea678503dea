import { createCipheriv, createHash } from "node:crypto";

/**
 * Deterministic file contents for the sample project. Everything derives
 * from a string seed, so the same options always give the same bytes, the
 * same md5s and therefore the same Git SHAs.
 */

const encoder = new TextEncoder();

/** Bytes of a UTF-8 string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A small seeded PRNG (mulberry32) for text content. */
function prng(seed: string): () => number {
  let state = createHash("md5").update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** CSV-like text of exactly `size` bytes (last line cut), seeded by `seed`. */
export function csvText(seed: string, size: number): Uint8Array {
  const random = prng(seed);
  const out = new Uint8Array(size);
  const header = utf8(`# ${seed}\nid,x,y,label\n`);
  let filled = Math.min(size, header.length);
  out.set(header.subarray(0, filled));
  for (let row = 0; filled < size; row++) {
    const line = utf8(
      `${row},${random().toFixed(6)},${random().toFixed(6)},${random() < 0.5 ? "cat" : "dog"}\n`,
    );
    const take = Math.min(line.length, size - filled);
    out.set(line.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/**
 * Pseudo-random binary content as a stream of chunks (AES-128-CTR key
 * stream): fast, deterministic, incompressible, and never more than one
 * chunk in memory.
 */
export function* binaryChunks(
  seed: string,
  size: number,
  chunkSize = 1 << 20,
): Generator<Uint8Array> {
  const key = createHash("md5").update(`key:${seed}`).digest();
  const cipher = createCipheriv("aes-128-ctr", key, new Uint8Array(16));
  const zeros = new Uint8Array(Math.min(chunkSize, Math.max(size, 1)));
  for (let offset = 0; offset < size; offset += chunkSize) {
    const n = Math.min(chunkSize, size - offset);
    yield cipher.update(zeros.subarray(0, n));
  }
}

/** Bytes 0..255, as the fixture's `binary.dat`. */
export function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}
