/**
 * Writes a version-2 packfile holding whole (undeltified) objects: header,
 * each object's type/size varint and zlib data, SHA-1 trailer.
 */
import fs from "node:fs";
import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import git from "isomorphic-git";
import { CorruptError } from "../../errors/mod.ts";

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

/** Builds a pack of `oids` read from `gitdir` (kept in memory: Git metadata is small). */
export async function buildPack(gitdir: string, oids: readonly string[]): Promise<Uint8Array> {
  const cache = {};
  const hash = createHash("sha1");
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
    let type: string;
    let object: Uint8Array;
    try {
      const read = await git.readObject({ fs, gitdir, oid, format: "content", cache });
      type = read.type;
      object = read.object as Uint8Array;
    } catch (e) {
      throw new CorruptError(
        `Git object '${oid}' is missing or unreadable in the local repository; run 'git fsck' to check it.`,
        { cause: e },
      );
    }
    const code = TYPE_CODES[type];
    if (code === undefined) {
      throw new CorruptError(`Git object '${oid}' has unknown type '${type}'.`);
    }
    push(packEntryHeader(code, object.length));
    push(new Uint8Array(deflateSync(object, { level: 1 })));
  }
  parts.push(new Uint8Array(hash.digest()));
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
