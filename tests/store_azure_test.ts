/**
 * The Azure Blob store against Azurite (Microsoft's emulator, which checks
 * SharedKey signatures, SAS tokens and Content-MD5) on loopback, with a
 * fault-injecting proxy in front of it. What is stored is checked with
 * Azurite's own listing made by the test helper's signer, not through the
 * store's list().
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, ConfigError, CorruptError, StoreError } from "../lib/errors/mod.ts";
import { openAzureStore, parseAzureRemote } from "../lib/store/azure/mod.ts";
import { parseConnectionString } from "../lib/store/azure/connection_string.ts";
import { withRetry } from "../lib/store/retry.ts";
import type { Store } from "../lib/store/types.ts";
import { type Azurite, AZURITE_ACCOUNT, AZURITE_KEY, sharedAzurite } from "./helpers/azurite.ts";
import { startS3FaultProxy } from "./helpers/s3_fault_proxy.ts";
import { scratch } from "./helpers/tmp.ts";
import { storeSuite } from "./store_suite.ts";

const MIB = 1024 * 1024;

/** A connection string for the dev account at `endpoint` (the proxy's or Azurite's). */
function connectionString(endpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=${endpoint};`;
}

storeSuite("azure/azurite", async () => {
  const azurite = await sharedAzurite();
  const container = await azurite.newContainer("suite");
  const proxy = await startS3FaultProxy(azurite.endpoint.replace(/\/devstoreaccount1$/, ""));
  const url = `azure://${container}/remote`;
  const options = { connection_string: connectionString(`${proxy.endpoint}/${AZURITE_ACCOUNT}`) };
  return {
    store: openAzureStore(url, options, { env: {} }),
    inject: proxy,
    remote: { type: "azure", url, options, env: {} },
    teardown: () => proxy.stop(),
    rawEntries: () => committed(azurite, container, "remote/"),
  };
  // Deno's fetch copies request bodies: this process's RSS says nothing about dxp's.
}, { faults: "requests", rssInProcess: false });

/** Committed blobs under `prefix`, relative to it, from Azurite's own listing. */
async function committed(azurite: Azurite, container: string, prefix: string) {
  return (await azurite.blobNames(container))
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
}

/** One fresh container, a proxy in front of Azurite and a scratch folder per test. */
function azureTest(
  name: string,
  fn: (env: {
    azurite: Azurite;
    container: string;
    store: Store & ReturnType<typeof openAzureStore>;
    proxy: Awaited<ReturnType<typeof startS3FaultProxy>>;
    dir: string;
    debug: string[];
  }) => Promise<void>,
  tuning: Parameters<typeof openAzureStore>[3] = {},
) {
  Deno.test(name, async () => {
    const azurite = await sharedAzurite();
    const container = await azurite.newContainer("store");
    const proxy = await startS3FaultProxy(azurite.endpoint.replace(/\/devstoreaccount1$/, ""));
    const local = await scratch("dxp-azure-");
    const debug: string[] = [];
    const store = openAzureStore(
      `azure://${container}/pre fix`,
      {
        connection_string: connectionString(`${proxy.endpoint}/${AZURITE_ACCOUNT}`),
      },
      { env: {}, onDebug: (line) => debug.push(line) },
      tuning,
    );
    try {
      await fn({ azurite, container, store, proxy, dir: local.dir, debug });
      for (const line of debug) assert.ok(!line.includes(AZURITE_KEY), line);
    } finally {
      await proxy.stop();
      await local.cleanup();
    }
  });
}

azureTest(
  "put() sends one Put Blob up to the limit, blocks above, each body with a Content-MD5",
  async ({ azurite, container, store, proxy, dir }) => {
    const small = join(dir, "small");
    const smallHash = await writeRandom(small, 3 * MIB);
    await store.put("files/md5/aa/small", small, { expect: { hash: smallHash, scheme: "md5" } });
    const big = join(dir, "big");
    const bigHash = await writeRandom(big, 10 * MIB);
    let reported = 0;
    await store.put("files/md5/aa/big", big, {
      expect: { hash: bigHash, scheme: "md5" },
      onBytes: (n) => reported += n,
    });
    assert.equal(reported, 10 * MIB);

    const puts = proxy.requests.filter((r) => r.method === "PUT");
    assert.deepEqual(
      puts.map((r) => [new URL(r.url, "http://x").searchParams.get("comp"), r.contentLength]),
      [
        [null, String(3 * MIB)],
        ["block", String(4 * MIB)],
        ["block", String(4 * MIB)],
        ["block", String(2 * MIB)],
        ["blocklist", puts.at(-1)!.contentLength],
      ],
    );
    for (const request of puts) {
      assert.equal(request.transferEncoding, undefined, request.url);
      assert.match(String(request.headers["content-md5"]), /^[A-Za-z0-9+/]{22}==$/, request.url);
      assert.ok(String(request.headers["authorization"]).startsWith("SharedKey devstoreaccount1:"));
    }
    // adlfs marks every uploaded blob as a file.
    assert.equal(puts[0]!.headers["x-ms-meta-is_directory"], "false");
    assert.equal(puts.at(-1)!.headers["x-ms-meta-is_directory"], "false");
    // The service keeps the whole blob's md5 for both kinds of upload.
    for (const [key, hash] of [["small", smallHash], ["big", bigHash]]) {
      const head = await azurite.request("HEAD", `/${container}/pre%20fix/files/md5/aa/${key}`);
      assert.equal(head.headers.get("content-md5"), Buffer.from(hash!, "hex").toString("base64"));
    }
    assert.deepEqual(await committed(azurite, container, "pre fix/"), [
      "files/md5/aa/big",
      "files/md5/aa/small",
    ]);
    const copy = join(dir, "copy");
    await store.get("files/md5/aa/big", copy, { expect: { hash: bigHash, scheme: "md5" } });
  },
  { singlePutLimit: 4 * MIB, blockSize: 4 * MIB },
);

azureTest(
  "put() with a wrong expect sends nothing (Put Blob) or commits nothing (blocks)",
  async ({ azurite, container, store, proxy, dir }) => {
    const small = join(dir, "small");
    await writeRandom(small, 1 * MIB);
    const big = join(dir, "big");
    await writeRandom(big, 9 * MIB);
    const wrong = { hash: "0".repeat(32), scheme: "md5" as const };
    await assert.rejects(store.put("small", small, { expect: wrong }), CorruptError);
    assert.equal(proxy.requests.length, 0, "nothing may be sent for a small object");
    await assert.rejects(store.put("big", big, { expect: wrong }), CorruptError);
    assert.deepEqual(
      proxy.requests.map((r) => new URL(r.url, "http://x").searchParams.get("comp")),
      ["block", "block", "block"],
      "blocks sent, no block list",
    );
    assert.equal(await store.exists("big"), false);
    assert.deepEqual(await committed(azurite, container, "pre fix/"), []);
  },
  { singlePutLimit: 4 * MIB, blockSize: 4 * MIB },
);

azureTest(
  "a body damaged in transit is refused by the service through Content-MD5 (transient)",
  async ({ azurite, container, store, proxy, dir }) => {
    const file = join(dir, "f");
    const hash = await writeRandom(file, 1 * MIB);
    proxy.failNext("corrupt");
    await assert.rejects(store.put("obj", file, { expect: { hash, scheme: "md5" } }), (e) => {
      assert.ok(e instanceof StoreError && e.transient, String(e));
      assert.match(e.message, /the bytes were damaged on the way \(HTTP 400 .*MD5/i);
      return true;
    });
    assert.equal(await store.exists("obj"), false);
    const big = join(dir, "big");
    const bigHash = await writeRandom(big, 9 * MIB);
    proxy.failMatching((_m, url) => url.includes("comp=block&"), "corrupt");
    await assert.rejects(
      store.put("big", big, { expect: { hash: bigHash, scheme: "md5" } }),
      /damaged on the way/,
    );
    assert.deepEqual(await committed(azurite, container, "pre fix/"), []);
  },
  { singlePutLimit: 4 * MIB, blockSize: 4 * MIB },
);

azureTest(
  "ServerBusy, 429 and 5xx are transient with Retry-After; the retry wrapper then succeeds",
  async ({ azurite, container, store, proxy, dir }) => {
    const file = join(dir, "f");
    const hash = await writeRandom(file, 64 * 1024);
    const expect = { hash, scheme: "md5" as const };
    proxy.failNext({ status: 503, code: "ServerBusy", retryAfter: "7" });
    await assert.rejects(store.put("k", file, { expect }), (e) => {
      assert.ok(e instanceof StoreError && e.transient, String(e));
      assert.equal(e.retryAfterMs, 7000);
      assert.match(e.message, /HTTP 503 ServerBusy; retry later/);
      return true;
    });
    for (const status of [429, 500, 502, 504, 408]) {
      proxy.failNext({ status, code: "X" });
      await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && e.transient);
    }
    proxy.failNext({ status: 501, code: "NotImplemented" });
    await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && !e.transient);

    const delays: number[] = [];
    const retrying = withRetry(store, {
      sleep: (ms) => Promise.resolve(void delays.push(ms)),
      random: () => 0,
    });
    proxy.failNext({ status: 503, code: "ServerBusy", retryAfter: "3" });
    proxy.failNext({ status: 500, code: "OperationTimedOut" });
    await retrying.put("k", file, { expect });
    assert.deepEqual(delays, [3000, 250]);
    assert.deepEqual(await committed(azurite, container, "pre fix/"), ["k"]);
  },
);

azureTest(
  "list() pages with NextMarker and returns every key once",
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

Deno.test("Azure store: a missing container is one clear permanent error, not a missing object", async () => {
  const azurite = await sharedAzurite();
  const store = openAzureStore("azure://no-such-container/x", {
    connection_string: azurite.connectionString,
  }, { env: {} });
  const { dir, cleanup } = await scratch("dxp-azure-");
  try {
    writeFileSync(join(dir, "f"), "x");
    for (
      const attempt of [
        () => store.exists("a/b"),
        () => collect(store.list("a/")),
        () => store.put("a/b", join(dir, "f"), {}),
        () => store.get("a/b", join(dir, "g"), {}),
      ]
    ) {
      await assert.rejects(attempt(), (e) => {
        assert.ok(e instanceof StoreError && !e.transient, String(e));
        assert.equal(
          e.message,
          "Container 'no-such-container' does not exist (remote 'azure://no-such-container/x'): " +
            "create it or fix the remote's URL.",
        );
        return true;
      });
    }
  } finally {
    await cleanup();
  }
});

Deno.test("Azure store: a wrong account key is an AuthError naming where the key came from, never the key", async () => {
  const azurite = await sharedAzurite();
  const container = await azurite.newContainer("wrongkey");
  const wrongKey = Buffer.from("not the right key at all, but base64").toString("base64");
  const store = openAzureStore(`azure://${container}`, {
    account_name: AZURITE_ACCOUNT,
  }, {
    env: { DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint, AZURE_STORAGE_KEY: wrongKey },
  });
  for (const attempt of [() => store.exists("a/b"), () => collect(store.list(""))]) {
    await assert.rejects(attempt(), (e) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(
        e.message,
        /^Azure refused access to (check 'a\/b'|list '') in 'azure:\/\/[^']+' \(HTTP 403 \w+\): check the account key \(AZURE_STORAGE_KEY\); /,
      );
      assert.ok(!e.message.includes(wrongKey));
      return true;
    });
  }
});

Deno.test("Azure store: account name + key from the options, the environment and the Azure CLI config", async () => {
  const azurite = await sharedAzurite();
  const container = await azurite.newContainer("keys");
  const { dir, cleanup } = await scratch("dxp-azure-");
  try {
    const file = join(dir, "f");
    writeFileSync(file, "through every key source\n");
    mkdirSync(join(dir, "azcfg"));
    writeFileSync(
      join(dir, "azcfg", "config"),
      `[storage]\naccount = ${AZURITE_ACCOUNT}\nkey = ${AZURITE_KEY}\n`,
    );
    const endpoint = { DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint };
    const forms: [string, Record<string, string>, Record<string, string>][] = [
      ["options", { account_name: AZURITE_ACCOUNT, account_key: AZURITE_KEY }, endpoint],
      ["env", {}, {
        ...endpoint,
        AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
        AZURE_STORAGE_KEY: AZURITE_KEY,
      }],
      ["cli config", {}, { ...endpoint, AZURE_CONFIG_DIR: join(dir, "azcfg") }],
    ];
    for (const [name, options, env] of forms) {
      const store = openAzureStore(`azure://${container}/${name}`, options, { env });
      await store.put("obj", file, {});
    }
    assert.deepEqual(await azurite.blobNames(container), [
      "cli config/obj",
      "env/obj",
      "options/obj",
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("Azure store: a SAS token authorises; a read-only SAS refuses uploads with an AuthError", async () => {
  const azurite = await sharedAzurite();
  const container = await azurite.newContainer("sas");
  const { dir, cleanup } = await scratch("dxp-azure-");
  try {
    const file = join(dir, "f");
    const hash = await writeRandom(file, 5 * MIB);
    const env = { DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint };
    const writer = openAzureStore(
      `azure://${container}/s`,
      {
        account_name: AZURITE_ACCOUNT,
        sas_token: `?${azurite.accountSas("rwdlac")}`,
      },
      { env },
      { singlePutLimit: 2 * MIB, blockSize: 2 * MIB },
    );
    await writer.put("big", file, { expect: { hash, scheme: "md5" } });
    assert.deepEqual(await collect(writer.list("")), ["big"]);
    const reader = openAzureStore(`azure://${container}/s`, { account_name: AZURITE_ACCOUNT }, {
      env: { ...env, AZURE_STORAGE_SAS_TOKEN: azurite.accountSas("rl") },
    });
    await reader.get("big", join(dir, "back"), { expect: { hash, scheme: "md5" } });
    await assert.rejects(reader.put("other", file, {}), (e) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(e.message, /refused access to upload 'other'.*AZURE_STORAGE_SAS_TOKEN/);
      assert.ok(!e.message.includes("sig="));
      return true;
    });
    assert.deepEqual(await azurite.blobNames(container), ["s/big"]);

    // A connection reset: the runtime's error text may quote the URL; the signature never shows.
    const sas = azurite.accountSas("rl");
    const signature = new URLSearchParams(sas).get("sig")!;
    const proxy = await startS3FaultProxy(azurite.endpoint.replace(/\/devstoreaccount1$/, ""));
    try {
      const cut = openAzureStore(`azure://${container}/s`, {
        account_name: AZURITE_ACCOUNT,
        sas_token: sas,
      }, { env: { DXP_AZURE_BLOB_ENDPOINT: `${proxy.endpoint}/${AZURITE_ACCOUNT}` } });
      proxy.failNext("reset", 5);
      await assert.rejects(cut.exists("big"), (e) => {
        assert.ok(e instanceof StoreError && e.transient, String(e));
        assert.ok(!e.message.includes(signature), e.message);
        assert.ok(!e.message.includes(encodeURIComponent(signature)), e.message);
        return true;
      });
    } finally {
      await proxy.stop();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("Azure store: anonymous access reads and lists a public container and cannot write", async () => {
  const azurite = await sharedAzurite();
  const container = await azurite.newContainer("public", { publicAccess: true });
  const { dir, cleanup } = await scratch("dxp-azure-");
  try {
    const file = join(dir, "f");
    const hash = await writeRandom(file, 1000);
    await openAzureStore(`azure://${container}`, { connection_string: azurite.connectionString }, {
      env: {},
    }).put("files/md5/ab/c", file, {});
    const proxy = await startS3FaultProxy(azurite.endpoint.replace(/\/devstoreaccount1$/, ""));
    try {
      const anonymous = openAzureStore(`azure://${container}`, {
        account_name: AZURITE_ACCOUNT,
        allow_anonymous_login: "true",
      }, { env: { DXP_AZURE_BLOB_ENDPOINT: `${proxy.endpoint}/${AZURITE_ACCOUNT}` } });
      assert.deepEqual(await collect(anonymous.list("files/")), ["files/md5/ab/c"]);
      assert.equal(await anonymous.exists("files/md5/ab/c"), true);
      await anonymous.get("files/md5/ab/c", join(dir, "back"), {
        expect: { hash, scheme: "md5" },
      });
      await assert.rejects(anonymous.put("files/md5/ab/d", file, {}), AuthError);
      assert.ok(proxy.requests.length >= 4);
      for (const request of proxy.requests) {
        assert.equal(request.headers["authorization"], undefined, request.url);
      }
    } finally {
      await proxy.stop();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("Azure options: DVC's precedence — connection string > account key > SAS > service principal", () => {
  const cs = connectionString("http://127.0.0.1:1/devstoreaccount1");
  const kind = (options: Record<string, string>, env: Record<string, string> = {}) =>
    parseAzureRemote("azure://c/p", options, { HOME: "/nonexistent", ...env }).auth.kind;
  const sp = { tenant_id: "t", client_id: "c", client_secret: "s" };
  assert.equal(kind({ account_name: "a", account_key: AZURITE_KEY, ...sp }), "sharedKey");
  assert.equal(kind({ account_name: "a", sas_token: "sv=1&sig=x", ...sp }), "sas");
  assert.equal(kind({ account_name: "a", ...sp }), "servicePrincipal");
  assert.equal(kind({ account_name: "a" }, { AZURE_STORAGE_CONNECTION_STRING: cs }), "sharedKey");
  assert.equal(kind({ account_name: "a", ...sp }, { AZURE_STORAGE_KEY: AZURITE_KEY }), "sharedKey");
  assert.equal(kind({ account_name: "a" }), "default");
  assert.equal(kind({ account_name: "a", allow_anonymous_login: "true" }), "anonymous");
  assert.equal(kind({ account_name: "a" }, { AZURE_STORAGE_ANON: "true" }), "anonymous");
  assert.equal(
    kind({ account_name: "a" }, {
      AZURE_STORAGE_CLIENT_ID: "c",
      AZURE_STORAGE_TENANT_ID: "t",
      AZURE_STORAGE_CLIENT_SECRET: "s",
    }),
    "servicePrincipal",
  );
  // The option beats the environment, which beats the Azure CLI config.
  const fromEnv = parseAzureRemote("azure://c", { connection_string: cs }, {
    AZURE_STORAGE_CONNECTION_STRING: connectionString("http://other:2/devstoreaccount1"),
  });
  assert.equal(fromEnv.endpoint, "http://127.0.0.1:1/devstoreaccount1");
  assert.equal(
    parseAzureRemote("azure://c", { account_name: "acct" }, { HOME: "/nonexistent" }).endpoint,
    "https://acct.blob.core.windows.net",
  );
});

Deno.test("Azure options: missing or malformed settings are ConfigErrors that quote no secret", () => {
  const env = { HOME: "/nonexistent" };
  assert.throws(
    () => parseAzureRemote("azure://c", {}, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /requires either account_name or connection_string/);
      return true;
    },
  );
  assert.throws(() => parseAzureRemote("azure://", { account_name: "a" }, env), ConfigError);
  assert.throws(
    () => parseAzureRemote("azure://c", { account_name: "a", account_key: "sec ret!" }, env),
    (e: unknown) => e instanceof ConfigError && !e.message.includes("sec ret!"),
  );
  assert.throws(
    () => parseAzureRemote("azure://c", { account_name: "a", client_id: "c" }, env),
    /needs tenant_id, client_id and client_secret/,
  );
  assert.throws(
    () => parseAzureRemote("azure://c", { connection_string: "AccountKey=topsecret" }, env),
    (e: unknown) => e instanceof ConfigError && !e.message.includes("topsecret"),
  );
});

Deno.test("Azure connection strings: endpoint from BlobEndpoint or protocol + account + suffix", () => {
  assert.deepEqual(
    parseConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
      "test",
    ),
    {
      endpoint: "https://acct.blob.core.chinacloudapi.cn",
      accountName: "acct",
      accountKey: "a2V5",
      sas: undefined,
    },
  );
  assert.deepEqual(
    parseConnectionString(
      "blobendpoint=https://x.example/;SharedAccessSignature=?sv=1&sig=a%2Bb==;",
      "test",
    ),
    {
      endpoint: "https://x.example",
      accountName: undefined,
      accountKey: undefined,
      sas: "sv=1&sig=a%2Bb==",
    },
  );
  assert.equal(
    parseConnectionString("UseDevelopmentStorage=true", "test").endpoint,
    "http://127.0.0.1:10000/devstoreaccount1",
  );
});

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
