import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { StoreError } from "../lib/errors/mod.ts";
import { saveResponseBody } from "../lib/store/http_download.ts";
import { run, scratch } from "./helpers/tmp.ts";
import { canMountTmpfs } from "./helpers/tmpfs.ts";

/** Bytes that differ from chunk to chunk (a dropped or reordered piece changes the file). */
function patterned(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
  return bytes;
}

/**
 * A server that sends `body` in 64 KiB writes; with `breakAfter` it
 * declares the whole length but drops the connection after that many bytes.
 */
async function serve(body: Uint8Array, breakAfter?: number) {
  const server = http.createServer(async (_req, res) => {
    res.writeHead(200, { "content-length": String(body.length) });
    const end = breakAfter ?? body.length;
    for (let at = 0; at < end; at += 65536) {
      const piece = body.subarray(at, Math.min(end, at + 65536));
      if (!res.write(piece)) await new Promise((resolve) => res.once("drain", resolve));
    }
    if (breakAfter === undefined) res.end();
    else setTimeout(() => res.destroy(), 50);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/object`;
  return { url, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

Deno.test("saveResponseBody: a body of several write batches lands whole, in order, with no temp file left", async () => {
  const body = patterned(3 * 1024 * 1024 + 4099);
  const server = await serve(body);
  const { dir, cleanup } = await scratch("dxp-http-download-");
  try {
    const target = join(dir, "files", "md5", "ab", "object");
    await saveResponseBody(await fetch(server.url), target, {
      expect: { hash: md5(body), scheme: "md5" },
      readTimeoutMs: 10_000,
      action: "download 'object'",
      where: server.url,
    });
    assert.ok(Buffer.from(body).equals(readFileSync(target)), "the file is the body");
    assert.deepEqual(readdirSync(join(dir, "files", "md5", "ab")), ["object"]);
  } finally {
    await server.stop();
    await cleanup();
  }
});

Deno.test({
  name:
    "saveResponseBody: a full disk is reported as such, not as the broken connection that follows",
  ignore: !canMountTmpfs(),
  async fn() {
    // The first MiB is more than the tmpfs holds; the connection drops a little
    // later, before another MiB could be gathered for a write: the read fails
    // while the failed write has not been reported yet.
    const body = patterned(4 * 1024 * 1024);
    const server = await serve(body, 1024 * 1024 + 128 * 1024);
    const { dir, cleanup } = await scratch("dxp-http-download-");
    const small = join(dir, "small");
    Deno.mkdirSync(small);
    assert.equal(run("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small]).code, 0);
    try {
      const target = join(small, "object");
      await assert.rejects(
        (async () =>
          saveResponseBody(await fetch(server.url), target, {
            expect: { hash: md5(body), scheme: "md5" },
            readTimeoutMs: 10_000,
            action: "download 'object'",
            where: server.url,
          }))(),
        (error) => {
          assert.ok(error instanceof StoreError, String(error));
          assert.match(error.message, /no space left on the device/);
          assert.doesNotMatch(error.message, /cut short|retry later/);
          return true;
        },
      );
      assert.deepEqual(readdirSync(small), [], "no temp file is left");
    } finally {
      run("umount", [small]);
      await server.stop();
      await cleanup();
    }
  },
});
