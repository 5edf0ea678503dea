/**
 * md5 and sha1 digests and random names without loading node:crypto where
 * the runtime has its own: in the compiled binary (Bun) node:crypto costs
 * ~2.3 ms of every start that loads it (measured: a compiled program that
 * only imports `createHash` starts in 6.0 ms, one using `Bun.CryptoHasher`
 * in 3.6 ms, an empty one in 3.7), and each helper thread loads it again.
 * The digests are the same and so is their speed (100 MiB of md5: 145 ms
 * either way). Under Deno (the tests) node:crypto is loaded on first use.
 */
import { Buffer } from "node:buffer";
import { lazyBuiltin } from "./builtin.ts";
import { bytesToHex } from "./bytes.ts";

export type DigestAlgorithm = "md5" | "sha1";

/** An incremental digest: feed it, then read it once (hex or bytes). */
export interface Digest {
  update(data: Uint8Array | string): Digest;
  /** The digest in lower-case hex. */
  hex(): string;
  /** The digest's bytes. */
  bytes(): Uint8Array;
}

interface Hasher {
  update(data: Uint8Array | string): unknown;
  digest(): Uint8Array;
  digest(encoding: "hex"): string;
}

const BunHasher = (globalThis as { Bun?: { CryptoHasher?: new (algorithm: string) => Hasher } })
  .Bun?.CryptoHasher;

const nodeCrypto = lazyBuiltin<typeof import("node:crypto")>("node:crypto");

/** A new {@link Digest} computing `algorithm`. */
export function newDigest(algorithm: DigestAlgorithm): Digest {
  const hasher: Hasher = BunHasher !== undefined
    ? new BunHasher(algorithm)
    : nodeCrypto().createHash(algorithm);
  const digest: Digest = {
    update(data) {
      hasher.update(data);
      return digest;
    },
    hex: () => hasher.digest("hex"),
    bytes: () => hasher.digest(),
  };
  return digest;
}

/** `count` random bytes in lower-case hex (for temp and lock names). */
export function randomHex(count: number): string {
  return bytesToHex(randomBytes(count));
}

/** `count` random bytes in base64url without padding (for temp names). */
export function randomBase64url(count: number): string {
  const bytes = randomBytes(count);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

function randomBytes(count: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(count));
}
