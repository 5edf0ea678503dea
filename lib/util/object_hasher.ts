import { type Digest, newDigest } from "./digest.ts";
import { concatBytes } from "./bytes.ts";

/** DVC's two hash schemes: 3.x raw md5, and 2.x md5 of CRLF-normalised text. */
export type HashScheme = "md5" | "md5-dos2unix";

/** Incremental hasher for one object; feed chunks of any size, then `digest()`. */
export interface ObjectHasher {
  update(chunk: Uint8Array): void;
  /** Lower-case hex digest. Call once. */
  digest(): string;
}

const LEGACY_CHUNK = 1024 * 1024;
const SNIFF = 512;

/** Creates a hasher for `scheme` (spec §4.2). */
export function createObjectHasher(scheme: HashScheme): ObjectHasher {
  return scheme === "md5" ? rawMd5() : dos2unixMd5();
}

/** md5 of a whole buffer in the given scheme. */
export function hashBytes(bytes: Uint8Array, scheme: HashScheme = "md5"): string {
  const hasher = createObjectHasher(scheme);
  hasher.update(bytes);
  return hasher.digest();
}

function rawMd5(): ObjectHasher {
  const hash = newDigest("md5");
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.hex(),
  };
}

/**
 * DVC 3's legacy hash: the file is cut into 1 MiB chunks; each chunk whose
 * first 512 bytes look like text has CRLF turned into LF before hashing.
 * Input is re-cut at exact 1 MiB boundaries whatever chunk sizes arrive;
 * pieces are only copied when a chunk spans several of them, so hashing a
 * small file allocates nothing.
 */
function dos2unixMd5(): ObjectHasher {
  const hash = newDigest("md5");
  let pieces: Uint8Array[] = [];
  let filled = 0;
  const flush = () => {
    if (filled === 0) return;
    hashLegacyChunk(hash, pieces.length === 1 ? pieces[0]! : concatBytes(pieces, filled));
    pieces = [];
    filled = 0;
  };
  return {
    update(chunk) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(LEGACY_CHUNK - filled, chunk.length - offset);
        pieces.push(chunk.subarray(offset, offset + take));
        filled += take;
        offset += take;
        if (filled === LEGACY_CHUNK) flush();
      }
    },
    digest() {
      flush();
      return hash.hex();
    },
  };
}

function hashLegacyChunk(hash: Digest, chunk: Uint8Array): void {
  if (!isTextBlock(chunk.subarray(0, SNIFF))) {
    hash.update(chunk);
    return;
  }
  // Copy out runs between CRLFs, dropping each CR that precedes an LF.
  let start = 0;
  for (let i = 0; i < chunk.length - 1; i++) {
    if (chunk[i] === 0x0d && chunk[i + 1] === 0x0a) {
      hash.update(chunk.subarray(start, i));
      start = i + 1;
    }
  }
  hash.update(chunk.subarray(start));
}

/** DVC's `istextblock`: empty, or no NUL and at most 30 % non-text bytes. */
export function isTextBlock(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  let nonText = 0;
  for (const byte of block) {
    if (byte === 0) return false;
    const text = (byte >= 0x20 && byte <= 0x7e) || byte === 0x0a || byte === 0x0d ||
      byte === 0x09 || byte === 0x0c || byte === 0x08;
    if (!text) nonText++;
  }
  return nonText / block.length <= 0.3;
}
