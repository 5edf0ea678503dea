/**
 * The digests and random names of lib/util/digest.ts (node:crypto under
 * Deno; the binary's Bun.CryptoHasher is checked by every e2e test that
 * verifies an object against DVC's fixtures).
 */
import assert from "node:assert/strict";
import { newDigest, randomBase64url, randomHex } from "../lib/util/digest.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("newDigest: md5 and sha1 of known inputs, in hex and bytes", () => {
  assert.equal(newDigest("md5").update("").hex(), "d41d8cd98f00b204e9800998ecf8427e");
  assert.equal(
    newDigest("md5").update(bytes("The quick brown fox jumps over the lazy dog")).hex(),
    "9e107d9d372bb6826bd81d3542a419d6",
  );
  assert.equal(newDigest("sha1").update("abc").hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
  const raw = newDigest("sha1").update("abc").bytes();
  assert.equal(raw.length, 20);
  assert.equal(
    Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join(""),
    "a9993e364706816aba3e25717850c26c9cd0d89d",
  );
});

Deno.test("newDigest: updates in pieces equal one update; strings are hashed as UTF-8", () => {
  const whole = bytes("dxp ✓ digest in pieces");
  const pieces = newDigest("md5");
  for (let i = 0; i < whole.length; i += 3) pieces.update(whole.subarray(i, i + 3));
  assert.equal(pieces.hex(), newDigest("md5").update(whole).hex());
  assert.equal(
    newDigest("sha1").update("dxp ✓").hex(),
    newDigest("sha1").update(bytes("dxp ✓")).hex(),
  );
});

Deno.test("randomHex and randomBase64url: the length asked, their alphabet, not repeated", () => {
  const hexes = new Set(Array.from({ length: 100 }, () => randomHex(6)));
  assert.equal(hexes.size, 100);
  for (const h of hexes) assert.match(h, /^[0-9a-f]{12}$/);
  for (let i = 0; i < 100; i++) {
    assert.match(randomBase64url(12), /^[A-Za-z0-9_-]{16}$/);
    assert.match(randomBase64url(16), /^[A-Za-z0-9_-]{22}$/);
  }
});
