/**
 * The S3 store against a real Ceph RGW on loopback (the test run's shared
 * cluster, a fresh bucket per test), with a fault-injecting proxy in front of
 * it. What is stored is checked in RGW's own bucket index, not through the
 * store's list().
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, ConfigError, CorruptError, StoreError } from "../lib/errors/mod.ts";
import { openS3Store, type S3Store } from "../lib/store/s3/mod.ts";
import { xmlBlocks, xmlText } from "../lib/store/s3/xml.ts";
import { indexKeys, RGW_SKIP_MESSAGE, rgwInstalled } from "./helpers/rgw.ts";
import { type SharedRgw, sharedRgw } from "./helpers/rgw_shared.ts";
import { startS3FaultProxy } from "./helpers/s3_fault_proxy.ts";
import { scratch } from "./helpers/tmp.ts";
import { storeSuite } from "./store_suite.ts";

const MIB = 1024 * 1024;

Deno.test("S3 options: acl with grants and kms with a customer key are refused with DVC's text", () => {
  assert.throws(
    () => openS3Store("s3://b", { acl: "private", grant_read: "id=a" }, { env: {} }),
    new ConfigError("`acl` and `grant_*` AWS S3 config options are mutually exclusive"),
  );
  assert.throws(
    () => openS3Store("s3://b", { sse_kms_key_id: "k", sse_customer_key: "a2V5" }, { env: {} }),
    /mutually exclusive/,
  );
  assert.throws(() => openS3Store("s3://", {}, { env: {} }), ConfigError);
  assert.throws(() => openS3Store("s3://b", { read_timeout: "soon" }, { env: {} }), ConfigError);
});

Deno.test("S3 XML: keys come back with entities and character references decoded", () => {
  const xml =
    "<ListBucketResult><Contents><Key>a &amp; b&lt;c&gt; &#233;&#x4E1C;</Key></Contents>" +
    "<Contents><Key>plain</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  assert.deepEqual(xmlBlocks(xml, "Contents").map((b) => xmlText(b, "Key")), [
    "a & b<c> é东",
    "plain",
  ]);
  assert.equal(xmlText(xml, "IsTruncated"), "false");
  assert.equal(xmlText(xml, "NextContinuationToken"), undefined);
});

Deno.test("RGW's bucket index: objects by name, an unfinished multipart upload once as upload:<key>", () => {
  // Entries as `radosgw-admin bucket list` printed them for one object and one upload with a part.
  const upload = "_multipart_dir/big.bin.2~gCleTAKnMpRWxMiqzF0rxfR3p5ridPN";
  assert.deepEqual(
    indexKeys([{ name: `${upload}.1` }, { name: `${upload}.meta` }, { name: "dir/plain key" }]),
    ["dir/plain key", "upload:dir/big.bin"],
  );
});

if (!rgwInstalled()) {
  Deno.test({ name: `s3/rgw: ${RGW_SKIP_MESSAGE}`, ignore: true, fn() {} });
} else {
  const rgw = async () => (await sharedRgw())!;
  const newBucket = async () => await (await rgw()).newBucket("store");
  const keysOf = (server: SharedRgw) => ({
    endpointurl: server.endpoint,
    access_key_id: server.accessKey,
    secret_access_key: server.secretKey,
  });

  storeSuite("s3/rgw", async () => {
    const server = await rgw();
    const bucket = await newBucket();
    const proxy = await startS3FaultProxy(server.endpoint);
    const options = { ...keysOf(server), endpointurl: proxy.endpoint };
    const url = `s3://${bucket}/remote`;
    const store = openS3Store(url, options, { env: {} });
    return {
      store,
      inject: proxy,
      remote: { type: "s3", url, options, env: { AWS_EC2_METADATA_DISABLED: "true" } },
      teardown: () => proxy.stop(),
      rawEntries: () => indexEntries(server, bucket, "remote/"),
    };
    // Deno's fetch copies request bodies: this process's RSS says nothing about dxp's.
  }, { faults: "requests", rssInProcess: false });

  /** One fresh bucket, a proxy in front of RGW and a scratch folder per test. */
  const s3Test = (
    name: string,
    fn: (
      env: {
        server: SharedRgw;
        store: S3Store;
        proxy: Awaited<ReturnType<typeof startS3FaultProxy>>;
        bucket: string;
        dir: string;
        debug: string[];
      },
    ) => Promise<void>,
    tuning: Parameters<typeof openS3Store>[3] = {},
  ) =>
    Deno.test(name, async () => {
      const server = await rgw();
      const bucket = await newBucket();
      const proxy = await startS3FaultProxy(server.endpoint);
      const local = await scratch("dxp-s3-");
      const debug: string[] = [];
      const store = openS3Store(`s3://${bucket}/pre fix`, {
        ...keysOf(server),
        endpointurl: proxy.endpoint,
      }, {
        env: {},
        onDebug: (line) => debug.push(line),
      }, tuning);
      try {
        await fn({ server, store, proxy, bucket, dir: local.dir, debug });
        for (const line of debug) {
          assert.ok(!line.includes(server.secretKey), line);
        }
      } finally {
        await proxy.stop();
        await local.cleanup();
      }
    });

  s3Test(
    "put() sends every body with a Content-Length: one PUT below 16 MiB, parts above",
    async ({ store, proxy, dir }) => {
      const small = join(dir, "small");
      const smallHash = await writeRandom(small, 3 * MIB);
      await store.put("files/md5/aa/small", small, { expect: { hash: smallHash, scheme: "md5" } });
      const big = join(dir, "big");
      const bigHash = await writeRandom(big, 40 * MIB);
      await store.put("files/md5/aa/big", big, { expect: { hash: bigHash, scheme: "md5" } });

      const bodies = proxy.requests.filter((r) => r.method === "PUT" || r.method === "POST");
      assert.ok(bodies.length >= 5, JSON.stringify(bodies));
      for (const request of bodies) {
        assert.equal(request.transferEncoding, undefined, `${request.method} ${request.url}`);
        assert.match(request.contentLength ?? "", /^\d+$/, `${request.method} ${request.url}`);
      }
      const parts = bodies.filter((r) => r.url.includes("partNumber="));
      assert.deepEqual(parts.map((r) => Number(r.contentLength)), [16 * MIB, 16 * MIB, 8 * MIB]);
      assert.equal(await etag(store, "files/md5/aa/small"), `"${smallHash}"`);
      assert.match(await etag(store, "files/md5/aa/big"), /^"[0-9a-f]{32}-3"$/);
      const copy = join(dir, "copy");
      await store.get("files/md5/aa/big", copy, { expect: { hash: bigHash, scheme: "md5" } });
    },
  );

  s3Test(
    "put() with a wrong expect sends nothing (single PUT) or aborts the upload (multipart)",
    async ({ server, bucket, store, proxy, dir }) => {
      const file = join(dir, "f");
      await writeRandom(file, 20 * MIB);
      const small = join(dir, "small");
      await writeRandom(small, 5 * MIB);
      const wrong = { hash: "0".repeat(32), scheme: "md5" as const };
      await assert.rejects(store.put("small", small, { expect: wrong }), CorruptError);
      assert.equal(proxy.requests.length, 0, "nothing may be sent for a small object");
      await assert.rejects(store.put("big", file, { expect: wrong }), CorruptError);
      assert.deepEqual(proxy.requests.map((r) => r.method), ["POST", "PUT", "PUT", "DELETE"]);
      assert.deepEqual(await indexEntries(server, bucket, "pre fix/"), []);
    },
    { multipartThreshold: 8 * MIB, partSize: 10 * MIB },
  );

  s3Test(
    "a body damaged in transit is refused by the server through Content-MD5 (transient)",
    async ({ server, bucket, store, proxy, dir }) => {
      const file = join(dir, "f");
      const hash = await writeRandom(file, 1 * MIB);
      proxy.failNext("corrupt");
      await assert.rejects(store.put("obj", file, { expect: { hash, scheme: "md5" } }), (e) => {
        assert.ok(e instanceof StoreError && e.transient, String(e));
        assert.match(e.message, /BadDigest/);
        return true;
      });
      assert.equal(await store.exists("obj"), false);
      const big = join(dir, "big");
      const bigHash = await writeRandom(big, 12 * MIB);
      proxy.failMatching((_m, url) => url.includes("partNumber=2"), "corrupt");
      await assert.rejects(
        store.put("big", big, { expect: { hash: bigHash, scheme: "md5" } }),
        /BadDigest/,
      );
      assert.deepEqual(await indexEntries(server, bucket, "pre fix/"), []);
    },
    { multipartThreshold: 8 * MIB, partSize: 5 * MIB },
  );

  s3Test(
    "list() pages through 1000+ keys with continuation tokens",
    async ({ server, bucket, store, dir }) => {
      const file = join(dir, "f");
      await writeFile(file, "x");
      const keys = Array.from(
        { length: 1003 },
        (_, i) => `runs/${String(i).padStart(4, "0")} k+&=`,
      );
      await inParallel(keys, 16, (key) => store.put(key, file, {}));
      assert.deepEqual(await indexEntries(server, bucket, "pre fix/"), [...keys].sort());
      const listed = await collect(store.list("runs/"));
      assert.equal(listed.length, 1003);
      assert.deepEqual(listed.sort(), [...keys].sort());
    },
  );

  s3Test(
    "list() with small pages returns every key once",
    async ({ store, proxy, dir }) => {
      const file = join(dir, "f");
      await writeFile(file, "x");
      const keys = Array.from({ length: 23 }, (_, i) => `files/md5/ab/${i} ü &amp; <x>`);
      await inParallel(keys, 8, (key) => store.put(key, file, {}));
      await store.put("files/md5/ac/other", file, {});
      const before = proxy.requests.length;
      assert.deepEqual((await collect(store.list("files/md5/ab/"))).sort(), [...keys].sort());
      assert.equal(proxy.requests.length - before, 5, "23 keys in pages of 5");
    },
    { listPageSize: 5 },
  );

  s3Test(
    "transient faults are classified and leave nothing partial",
    async ({ server, bucket, store, proxy, dir }) => {
      const file = join(dir, "f");
      const hash = await writeRandom(file, 12 * MIB);
      const expect = { hash, scheme: "md5" as const };

      proxy.failNext({ status: 503, retryAfter: "7" });
      await assert.rejects(store.put("k", file, { expect }), (e) => {
        assert.ok(e instanceof StoreError && e.transient, String(e));
        assert.equal(e.retryAfterMs, 7000);
        assert.match(e.message, /SlowDown/);
        return true;
      });
      proxy.failMatching((m, url) => m === "PUT" && url.includes("partNumber=2"), { status: 500 });
      await assert.rejects(
        store.put("k", file, { expect }),
        (e) => e instanceof StoreError && e.transient,
      );
      proxy.failMatching((m, url) => m === "PUT" && url.includes("partNumber=1"), "reset");
      await assert.rejects(
        store.put("k", file, { expect }),
        (e) => e instanceof StoreError && e.transient,
      );
      assert.deepEqual(await indexEntries(server, bucket, "pre fix/"), []);

      await store.put("k", file, { expect });
      for (const fault of ["truncate", "reset", { status: 500 }, { status: 429 }] as const) {
        proxy.failNext(fault);
        await assert.rejects(store.get("k", join(dir, "out", "k"), { expect }), (e) => {
          assert.ok(
            e instanceof StoreError && e.transient,
            `${JSON.stringify(fault)}: ${String(e)}`,
          );
          return true;
        });
        assert.deepEqual(await readdir(join(dir, "out")).catch(() => []), []);
      }
      proxy.failNext({ status: 503 });
      await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && e.transient);
      proxy.failNext({ status: 500 });
      await assert.rejects(collect(store.list("")), (e) => e instanceof StoreError && e.transient);
    },
    { multipartThreshold: 8 * MIB, partSize: 5 * MIB },
  );

  s3Test(
    "permanent faults are classified: 403 is an AuthError, 404 a missing object",
    async ({ store, proxy, dir }) => {
      const file = join(dir, "f");
      await writeFile(file, "data");
      proxy.failNext({ status: 403 });
      await assert.rejects(store.put("k", file, {}), (e) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.match(e.message, /Access denied.*s3:PutObject/);
        return true;
      });
      proxy.failNext({ status: 400, code: "InvalidArgument" });
      await assert.rejects(
        store.put("k", file, {}),
        (e) => e instanceof StoreError && !e.transient,
      );
      await assert.rejects(store.get("absent", join(dir, "x"), {}), (e) => {
        assert.ok(e instanceof StoreError && !e.transient && e.data["status"] === 404, String(e));
        return true;
      });
    },
  );

  Deno.test("S3 store reports a missing bucket clearly", async () => {
    const server = await rgw();
    const store = openS3Store("s3://no-such-bucket/x", keysOf(server), { env: {} });
    for (const attempt of [() => store.exists("a/b"), () => collect(store.list("a/"))]) {
      await assert.rejects(attempt(), (e) => {
        assert.ok(e instanceof StoreError && !e.transient, String(e));
        assert.equal(
          e.message,
          "Bucket 'no-such-bucket' does not exist (remote 's3://no-such-bucket/x'): create it or fix the remote's URL.",
        );
        return true;
      });
    }
  });

  s3Test("SSE-C objects need the customer key to be read", async ({ server, bucket, dir }) => {
    const key = Buffer.from(new Uint8Array(32).fill(7)).toString("base64");
    const withKey = openS3Store(`s3://${bucket}/c`, { ...keysOf(server), sse_customer_key: key }, {
      env: {},
    });
    const without = openS3Store(`s3://${bucket}/c`, keysOf(server), { env: {} });
    const file = join(dir, "f");
    const hash = await writeRandom(file, 9 * MIB);
    await withKey.put("obj", file, { expect: { hash, scheme: "md5" } });
    await withKey.get("obj", join(dir, "back"), { expect: { hash, scheme: "md5" } });
    await assert.rejects(without.get("obj", join(dir, "nope"), {}), StoreError);
  }, {});

  s3Test("allow_anonymous_login sends unsigned requests", async ({ proxy, bucket }) => {
    const anonymous = openS3Store(`s3://${bucket}/x`, {
      endpointurl: proxy.endpoint,
      allow_anonymous_login: "true",
    }, { env: { AWS_EC2_METADATA_DISABLED: "true" } });
    // the bucket is private: RGW refuses, and the refusal is an AuthError
    await assert.rejects(collect(anonymous.list("")), AuthError);
    assert.equal(proxy.requests.length, 1);
    assert.equal(proxy.requests[0]?.headers["authorization"], undefined);
  });
}

/**
 * Objects and unfinished multipart uploads under `prefix` in RGW's own bucket
 * index, relative to `prefix`: the suite's "nothing partial" check, made
 * without the store under test.
 */
async function indexEntries(server: SharedRgw, bucket: string, prefix: string) {
  return (await server.bucketKeys(bucket)).flatMap((key) => {
    const upload = key.startsWith("upload:");
    const name = upload ? key.slice("upload:".length) : key;
    if (!name.startsWith(prefix)) return [];
    return [`${upload ? "upload:" : ""}${name.slice(prefix.length)}`];
  });
}

async function etag(store: S3Store, key: string): Promise<string> {
  const response = await store.client.request({
    method: "HEAD",
    key: store.client.fullKey(key),
    action: "head",
  });
  await response.body?.cancel();
  return response.headers.get("etag") ?? "";
}

async function writeRandom(path: string, size: number): Promise<string> {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  await writeFile(path, bytes);
  return createHash("md5").update(bytes).digest("hex");
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}
