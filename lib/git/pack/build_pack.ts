/**
 * Writes a version-2 packfile holding whole (undeltified) objects: header,
 * each object's type/size varint and zlib data, SHA-1 trailer.
 */
import { newDigest } from "../../util/digest.ts";
import { lazyBuiltin } from "../../util/builtin.ts";
import { ObjectStore } from "./object_store.ts";
import { concatBytes } from "../../util/bytes.ts";

const zlib = lazyBuiltin<typeof import("node:zlib")>("node:zlib");

const TYPE_CODES: Record<string, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** The type-and-size header of one pack entry. */
export function packEntryHeader(typeCode: number, size: number): Uint8Array {
  const bytes: number[] = [];
  let rest = Math.floor(size / 16);
  let byte = (typeCode << 4) | (size & 15);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return new Uint8Array(bytes);
}

/**
 * Builds a pack of `oids` read from `gitdir` (kept in memory: Git metadata
 * is small). Pass the `store` used to choose the objects to reuse its cache.
 */
export async function buildPack(
  gitdir: string,
  oids: readonly string[],
  options: { store?: ObjectStore } = {},
): Promise<Uint8Array> {
  const store = options.store ?? ObjectStore.open(gitdir);
  try {
    const hash = newDigest("sha1");
    const parts: Uint8Array[] = [];
    const push = (bytes: Uint8Array) => {
      parts.push(bytes);
      hash.update(bytes);
    };
    const header = new Uint8Array(12);
    header.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
    new DataView(header.buffer).setUint32(8, oids.length);
    push(header);
    for (const oid of oids) {
      const { type, data } = await store.read(oid);
      push(packEntryHeader(TYPE_CODES[type]!, data.length));
      push(new Uint8Array(zlib().deflateSync(data, { level: 1 })));
    }
    parts.push(hash.bytes());
    return concatBytes(parts);
  } finally {
    if (options.store === undefined) await store.close();
  }
}
