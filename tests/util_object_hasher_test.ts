import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { createObjectHasher, hashBytes, isTextBlock } from "../lib/util/object_hasher.ts";

const enc = new TextEncoder();

Deno.test("hashBytes() gives DVC's legacy and 3.x hashes of a CRLF file", () => {
  assert.equal(
    hashBytes(enc.encode("foo\r\n"), "md5-dos2unix"),
    "d3b07384d113edec49eaa6238ad5ff00",
  );
  assert.equal(hashBytes(enc.encode("foo\r\n"), "md5"), "2145971cf82058b108229a3a2e3bff35");
  assert.equal(
    hashBytes(enc.encode("a\nb\nc"), "md5-dos2unix"),
    hashBytes(enc.encode("a\r\nb\r\nc"), "md5-dos2unix"),
  );
});

Deno.test("createObjectHasher() legacy result does not depend on how the input is split", () => {
  // 2.5 MiB of CRLF text: chunk boundaries at exactly 1 MiB, whatever the feed sizes.
  const line = enc.encode("0123456789abcdef\r\n");
  const big = new Uint8Array(Math.ceil((2.5 * 1024 * 1024) / line.length) * line.length);
  for (let i = 0; i < big.length; i += line.length) big.set(line, i);
  const whole = hashBytes(big, "md5-dos2unix");
  for (const step of [1000, 65536, 1024 * 1024, 3 * 1024 * 1024]) {
    const hasher = createObjectHasher("md5-dos2unix");
    for (let i = 0; i < big.length; i += step) hasher.update(big.subarray(i, i + step));
    assert.equal(hasher.digest(), whole, `step ${step}`);
  }
  // Each 1 MiB chunk normalised on its own: a CRLF cut by a boundary stays.
  const expected = createHash("md5");
  for (let i = 0; i < big.length; i += 1024 * 1024) {
    const chunk = Buffer.from(big.subarray(i, i + 1024 * 1024)).toString("latin1").replaceAll(
      "\r\n",
      "\n",
    );
    expected.update(Buffer.from(chunk, "latin1"));
  }
  assert.equal(whole, expected.digest("hex"));
});

Deno.test("isTextBlock() follows DVC's 30 % rule and NUL check", () => {
  assert.equal(isTextBlock(new Uint8Array()), true);
  assert.equal(isTextBlock(enc.encode("text")), true);
  assert.equal(isTextBlock(new Uint8Array([0x61, 0x00, 0x62])), false);
  assert.equal(
    isTextBlock(new Uint8Array([0x80, 0x80, 0x80, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61])),
    true,
  );
  assert.equal(
    isTextBlock(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61])),
    false,
  );
});
