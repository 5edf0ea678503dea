/**
 * Building the `.idx` (version 2) of a received pack, as `git index-pack`
 * does: inflate every entry, resolve ofs/ref deltas inside the pack, hash
 * each object. A delta whose base is not in the pack (a thin pack) or an
 * entry that does not inflate to its stated size is an error.
 */
import { bytesToHex } from "../../util/bytes.ts";
import { newDigest } from "../../util/digest.ts";
import { lazyBuiltin } from "../../util/builtin.ts";
import { CorruptError, GitRemoteError } from "../../errors/mod.ts";
import { applyDelta, deltaResultSize } from "./delta.ts";
import { formatBytes, MAX_OBJECT_BYTES, MAX_PACK_INFLATED_BYTES } from "./limits.ts";

const zlib = lazyBuiltin<typeof import("node:zlib")>("node:zlib");

const TYPES: Record<number, string> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const encoder = new TextEncoder();

interface Entry {
  offset: number;
  crc: number;
  /** Object type once known (deltas take their base's type). */
  type?: string;
  /** Inflated content (or delta, until resolved). */
  data: Uint8Array;
  baseOffset?: number;
  baseOid?: string;
  oid?: string;
}

function corrupt(detail: string): GitRemoteError {
  return new GitRemoteError(
    `The pack from the Git remote is corrupt (${detail}); nothing was stored.`,
  );
}

function hashObject(type: string, data: Uint8Array): string {
  return newDigest("sha1").update(encoder.encode(`${type} ${data.length}\0`)).update(data).hex();
}

function tooLarge(offset: number, size: number, limit: number): GitRemoteError {
  return new GitRemoteError(
    `The pack from the Git remote declares an object of ${
      formatBytes(size)
    } at offset ${offset}, ` +
      `more than dxp reads (${formatBytes(limit)}); nothing was stored.`,
  );
}

function inflateAt(
  pack: Uint8Array,
  at: number,
  size: number,
): { data: Uint8Array; used: number } {
  // `info` exposes how many input bytes the zlib stream used: the entry's end.
  // The output stops one byte past the declared size: a stream that inflates
  // to more (a zlib bomb) fails there instead of taking the memory.
  const result = zlib().inflateSync(pack.subarray(at), {
    info: true,
    maxOutputLength: Math.max(1, size + 1),
  }) as unknown as {
    buffer: Uint8Array;
    engine: { bytesWritten: number };
  };
  return { data: new Uint8Array(result.buffer), used: result.engine.bytesWritten };
}

function readEntries(pack: Uint8Array, count: number): Entry[] {
  const entries: Entry[] = [];
  const end = pack.length - 20;
  let pos = 12;
  let inflatedTotal = 0;
  for (let n = 0; n < count; n++) {
    const offset = pos;
    if (pos >= end) throw corrupt(`it ends after ${n} of ${count} objects`);
    let byte = pack[pos++]!;
    const typeCode = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 16;
    while (byte & 0x80) {
      if (pos >= end) throw corrupt(`the entry at offset ${offset} is truncated`);
      byte = pack[pos++]!;
      size += (byte & 0x7f) * shift;
      shift *= 128;
      if (shift > 2 ** 56) throw corrupt(`the entry at offset ${offset} has a malformed size`);
    }
    if (size > MAX_OBJECT_BYTES) throw tooLarge(offset, size, MAX_OBJECT_BYTES);
    inflatedTotal += size;
    if (inflatedTotal > MAX_PACK_INFLATED_BYTES) {
      throw tooLarge(offset, inflatedTotal, MAX_PACK_INFLATED_BYTES);
    }
    const entry: Entry = { offset, crc: 0, data: new Uint8Array(0) };
    if (typeCode === 6) {
      if (pos >= end) throw corrupt(`the entry at offset ${offset} is truncated`);
      byte = pack[pos++]!;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        if (pos >= end || back > offset) {
          throw corrupt(`a delta at offset ${offset} points before the pack`);
        }
        byte = pack[pos++]!;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      if (back > offset) throw corrupt(`a delta at offset ${offset} points before the pack`);
      entry.baseOffset = offset - back;
    } else if (typeCode === 7) {
      if (pos + 20 > end) throw corrupt(`the entry at offset ${offset} is truncated`);
      entry.baseOid = bytesToHex(pack.subarray(pos, pos + 20));
      pos += 20;
    } else if (TYPES[typeCode] !== undefined) {
      entry.type = TYPES[typeCode]!;
    } else {
      throw corrupt(`an entry at offset ${offset} has unknown type ${typeCode}`);
    }
    let inflated;
    try {
      inflated = inflateAt(pack, pos, size);
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw corrupt(`the entry at offset ${offset} inflates to more than its ${size} bytes`);
      }
      throw corrupt(`the entry at offset ${offset} does not inflate`);
    }
    if (inflated.data.length !== size) {
      throw corrupt(`the entry at offset ${offset} has the wrong size`);
    }
    entry.data = inflated.data;
    pos += inflated.used;
    if (pos > end) throw corrupt(`the entry at offset ${offset} runs into the trailer`);
    entry.crc = zlib().crc32(pack.subarray(offset, pos)) >>> 0;
    entries.push(entry);
  }
  if (pos !== end) throw corrupt("it has bytes after its last object");
  return entries;
}

/**
 * Resolves every delta, each once its base is known (a worklist: no
 * recursion however long a chain, no rescans however the entries are
 * ordered); throws for a base missing from the pack. Every result's size is
 * counted against {@link MAX_PACK_INFLATED_BYTES} before it is built.
 */
function resolveDeltas(entries: Entry[]): void {
  const byOffset = new Map<number, Entry>();
  for (const e of entries) byOffset.set(e.offset, e);
  const waiting = new Map<string, Entry[]>();
  const wait = (key: string, e: Entry) => {
    const list = waiting.get(key);
    if (list === undefined) waiting.set(key, [e]);
    else list.push(e);
  };
  const ready: Entry[] = [];
  let total = 0;
  for (const e of entries) {
    if (e.baseOffset !== undefined) {
      if (!byOffset.has(e.baseOffset)) {
        throw corrupt(`a delta at offset ${e.offset} has no base entry`);
      }
      wait(`o${e.baseOffset}`, e);
    } else if (e.baseOid !== undefined) {
      wait(`r${e.baseOid}`, e);
    } else {
      e.oid = hashObject(e.type!, e.data);
      total += e.data.length;
      ready.push(e);
    }
  }
  for (let i = 0; i < ready.length; i++) {
    const base = ready[i]!;
    for (const key of [`o${base.offset}`, `r${base.oid}`]) {
      const deltas = waiting.get(key);
      if (deltas === undefined) continue;
      waiting.delete(key);
      for (const e of deltas) {
        if (e.oid !== undefined) continue;
        e.type = base.type!;
        try {
          total += deltaResultSize(e.data);
          if (total > MAX_PACK_INFLATED_BYTES) {
            throw tooLarge(e.offset, total, MAX_PACK_INFLATED_BYTES);
          }
          e.data = applyDelta(base.data, e.data);
        } catch (error) {
          if (!(error instanceof CorruptError)) throw error;
          throw corrupt(`the delta at offset ${e.offset}: ${error.message.replace(/\.$/, "")}`);
        }
        e.oid = hashObject(e.type, e.data);
        ready.push(e);
      }
    }
  }
  const unresolved = entries.find((e) => e.oid === undefined);
  if (unresolved?.baseOid !== undefined) {
    throw new GitRemoteError(
      `The pack from the Git remote is thin (a delta needs object '${unresolved.baseOid}', which is not in it); nothing was stored.`,
    );
  }
  if (unresolved !== undefined) {
    throw corrupt(`the delta at offset ${unresolved.offset} never reaches a whole object`);
  }
}

function writeIdx(entries: Entry[], packChecksum: Uint8Array): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.oid! < b.oid! ? -1 : a.oid! > b.oid! ? 1 : 0));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000);
  const size = 8 + 1024 + n * 28 + large.length * 8 + 40;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xff744f63);
  view.setUint32(4, 2);
  const fanout = new Uint32Array(256);
  for (const e of sorted) fanout[parseInt(e.oid!.slice(0, 2), 16)]!++;
  let running = 0;
  for (let i = 0; i < 256; i++) {
    running += fanout[i]!;
    view.setUint32(8 + i * 4, running);
  }
  const names = 8 + 1024;
  const crcs = names + n * 20;
  const offsets = crcs + n * 4;
  const larges = offsets + n * 4;
  let largeIndex = 0;
  sorted.forEach((e, i) => {
    for (let k = 0; k < 20; k++) {
      out[names + i * 20 + k] = parseInt(e.oid!.slice(k * 2, k * 2 + 2), 16);
    }
    view.setUint32(crcs + i * 4, e.crc);
    if (e.offset < 0x80000000) {
      view.setUint32(offsets + i * 4, e.offset);
    } else {
      view.setUint32(offsets + i * 4, (0x80000000 | largeIndex) >>> 0);
      view.setUint32(larges + largeIndex * 8, Math.floor(e.offset / 2 ** 32));
      view.setUint32(larges + largeIndex * 8 + 4, e.offset >>> 0);
      largeIndex++;
    }
  });
  out.set(packChecksum, size - 40);
  out.set(newDigest("sha1").update(out.subarray(0, size - 20)).bytes(), size - 20);
  return out;
}

/**
 * Indexes a verified pack (header and trailer already checked) holding
 * `count` objects; returns the `.idx` bytes and the object ids.
 */
export function indexPack(pack: Uint8Array, count: number): { idx: Uint8Array; oids: string[] } {
  const entries = readEntries(pack, count);
  resolveDeltas(entries);
  const oids = entries.map((e) => e.oid!);
  if (new Set(oids).size !== oids.length) throw corrupt("it holds the same object twice");
  return { idx: writeIdx(entries, pack.subarray(pack.length - 20)), oids };
}
