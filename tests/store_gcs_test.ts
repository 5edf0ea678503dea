/**
 * The Google Cloud Storage store against a contract server written from the
 * JSON API documentation (tests/helpers/gcs_contract_server.ts): the shared
 * store suite, resumable uploads interrupted and resumed, token refresh
 * exactly once, every credential source, rate limits. What is stored is
 * read from the server's memory, not through the store's list().
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, ConfigError, CorruptError, StoreError } from "../lib/errors/mod.ts";
import { openGcsStore, parseGcsRemote } from "../lib/store/gcs/mod.ts";
import { signJwtRs256 } from "../lib/store/google/jwt.ts";
import { withRetry } from "../lib/store/retry.ts";
import { type GcsContractServer, startGcsContractServer } from "./helpers/gcs_contract_server.ts";
import { scratch } from "./helpers/tmp.ts";
import { storeSuite } from "./store_suite.ts";

const MIB = 1024 * 1024;
/** No test may wait on the real metadata address. */
const ENV = { NO_GCE_CHECK: "true", HOME: "/nonexistent" };

/** A server with bucket `bucket` and a service account whose key file is in `dir`. */
async function setup(dir: string) {
  const server = await startGcsContractServer();
  server.addBucket("bucket");
  const { file } = server.oauth.addServiceAccount("dxp-test@dxp-test.iam.gserviceaccount.com");
  const keyPath = join(dir, "sa.json");
  writeFileSync(keyPath, JSON.stringify(file));
  return { server, keyPath, keyFile: file };
}

storeSuite("gcs/contract", async () => {
  const local = await scratch("dxp-gcs-suite-");
  const { server, keyPath } = await setup(local.dir);
  const url = "gs://bucket/remote";
  const options = { endpointurl: server.url, credentialpath: keyPath };
  return {
    store: openGcsStore(url, options, { env: ENV }),
    inject: server,
    remote: { type: "gs", url, options, env: ENV },
    rawEntries: () =>
      Promise.resolve(server.names("bucket", "remote/").map((n) => n.slice("remote/".length))),
    teardown: async () => {
      await server.stop();
      await local.cleanup();
    },
  };
}, { faults: "requests", rssInProcess: false, sanitize: false });

/** A fresh server, a store on `gs://bucket/pre fix` and a scratch folder per test. */
function gcsTest(
  name: string,
  fn: (env: {
    server: GcsContractServer;
    store: ReturnType<typeof openGcsStore>;
    dir: string;
    keyPath: string;
    debug: string[];
  }) => Promise<void>,
  tuning: Parameters<typeof openGcsStore>[3] = {},
) {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const local = await scratch("dxp-gcs-");
      const { server, keyPath, keyFile } = await setup(local.dir);
      const debug: string[] = [];
      const store = openGcsStore(
        "gs://bucket/pre fix",
        { endpointurl: server.url, credentialpath: keyPath },
        { env: ENV, onDebug: (line) => debug.push(line) },
        { chunkRetryBaseMs: 5, ...tuning },
      );
      try {
        await fn({ server, store, dir: local.dir, keyPath, debug });
        for (const line of debug) {
          assert.ok(!line.includes("PRIVATE KEY") && !line.includes(keyFile.private_key_id), line);
          for (const token of server.oauth.tokens.keys()) assert.ok(!line.includes(token), line);
        }
      } finally {
        await server.stop();
        await local.cleanup();
      }
    },
  });
}

Deno.test("a JWT made by our signer verifies with openssl against the key's public half", async () => {
  const { dir, cleanup } = await scratch("dxp-jwt-");
  try {
    const openssl = (args: string[]) =>
      execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
    openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      join(dir, "key.pem"),
    ]);
    openssl(["pkey", "-in", join(dir, "key.pem"), "-pubout", "-out", join(dir, "pub.pem")]);
    const jwt = await signJwtRs256(
      { typ: "JWT", alg: "RS256", kid: "k1" },
      { iss: "a@b.iam.gserviceaccount.com", scope: "s", aud: "https://x/token", iat: 1, exp: 2 },
      readFileSync(join(dir, "key.pem"), "utf8"),
      "'key.pem'",
    );
    const [header, claims, signature] = jwt.split(".");
    assert.deepEqual(JSON.parse(Buffer.from(header!, "base64url").toString()), {
      typ: "JWT",
      alg: "RS256",
      kid: "k1",
    });
    assert.equal(
      JSON.parse(Buffer.from(claims!, "base64url").toString()).iss,
      "a@b.iam.gserviceaccount.com",
    );
    assert.doesNotMatch(jwt, /[=+/]/, "base64url without padding");
    writeFileSync(join(dir, "input"), `${header}.${claims}`);
    writeFileSync(join(dir, "sig"), Buffer.from(signature!, "base64url"));
    assert.equal(
      openssl([
        "dgst",
        "-sha256",
        "-verify",
        join(dir, "pub.pem"),
        "-signature",
        join(dir, "sig"),
        join(dir, "input"),
      ]).trim(),
      "Verified OK",
    );
    writeFileSync(join(dir, "input"), `${header}.${claims}x`);
    assert.throws(() =>
      openssl([
        "dgst",
        "-sha256",
        "-verify",
        join(dir, "pub.pem"),
        "-signature",
        join(dir, "sig"),
        join(dir, "input"),
      ])
    );
  } finally {
    await cleanup();
  }
});

gcsTest(
  "put(): multipart with md5Hash up to the limit; above it a resumable session in 256 KiB-multiple chunks",
  async ({ server, store, dir }) => {
    const small = join(dir, "small");
    const smallHash = await writeRandom(small, 1 * MIB);
    await store.put("files/md5/aa/small", small, { expect: { hash: smallHash, scheme: "md5" } });
    const big = join(dir, "big");
    const bigHash = await writeRandom(big, 5 * MIB + 123);
    let reported = 0;
    await store.put("files/md5/aa/big", big, {
      expect: { hash: bigHash, scheme: "md5" },
      onBytes: (n) => reported += n,
    });
    assert.equal(reported, 5 * MIB + 123);
    const uploads = server.requests.filter((r) => r.url.startsWith("/upload/"));
    assert.deepEqual(
      uploads.map((
        r,
      ) => [
        r.method,
        new URL(r.url, "http://x").searchParams.get("uploadType"),
        r.headers["content-range"] ?? "",
      ]),
      [
        ["POST", "multipart", ""],
        ["POST", "resumable", ""],
        ["PUT", "resumable", `bytes 0-${2 * MIB - 1}/${5 * MIB + 123}`],
        ["PUT", "resumable", `bytes ${2 * MIB}-${4 * MIB - 1}/${5 * MIB + 123}`],
        ["PUT", "resumable", `bytes ${4 * MIB}-${5 * MIB + 122}/${5 * MIB + 123}`],
      ],
    );
    assert.equal(uploads[1]!.headers["x-upload-content-length"], String(5 * MIB + 123));
    assert.deepEqual(server.names("bucket"), [
      "pre fix/files/md5/aa/big",
      "pre fix/files/md5/aa/small",
    ]);
    assert.equal(
      server.buckets.get("bucket")!.get("pre fix/files/md5/aa/big")!.md5,
      Buffer.from(bigHash, "hex").toString("base64"),
    );
    const copy = join(dir, "copy");
    await store.get("files/md5/aa/big", copy, { expect: { hash: bigHash, scheme: "md5" } });
    assert.equal(server.openSessions(), 0);
  },
  { simpleUploadLimit: 2 * MIB, chunkSize: 2 * MIB },
);

gcsTest(
  "put() with a wrong expect sends nothing, for multipart and resumable sizes",
  async ({ server, store, dir }) => {
    const wrong = { hash: "0".repeat(32), scheme: "md5" as const };
    for (const size of [1000, 5 * MIB]) {
      const file = join(dir, `f${size}`);
      await writeRandom(file, size);
      await assert.rejects(store.put("k", file, { expect: wrong }), CorruptError);
    }
    assert.deepEqual(server.requests.filter((r) => r.url.startsWith("/upload/")), []);
    assert.deepEqual(server.names("bucket"), []);
  },
  { simpleUploadLimit: 2 * MIB, chunkSize: 2 * MIB },
);

for (const dropped of [false, true]) {
  gcsTest(
    `a resumable chunk cut short (${
      dropped ? "connection dropped" : "answered 503"
    }) resumes from the offset the session reports, in the same session`,
    async ({ server, store, dir }) => {
      const file = join(dir, "big");
      const size = 7 * MIB;
      const hash = await writeRandom(file, size);
      const cut = `bytes ${2 * MIB}-${4 * MIB - 1}/${size}`;
      // The second chunk stops after 1.3 MiB: the server keeps 1.25 MiB (whole 256 KiB units).
      // A dropped connection is dropped again for each copy the runtime's HTTP client resends.
      server.failMatching(
        (m, url, headers) =>
          m === "PUT" && url.includes("upload_id") && headers["content-range"] === cut,
        dropped
          ? { dropAfter: Math.round(1.3 * MIB) }
          : { dropAfter: Math.round(1.3 * MIB), status: 503 },
        dropped ? 20 : 1,
      );
      await store.put("obj", file, { expect: { hash, scheme: "md5" } });
      const ranges = server.requests.filter((r) => r.url.includes("upload_id"))
        .map((r) => r.headers["content-range"]);
      assert.deepEqual(ranges.slice(0, 2), [`bytes 0-${2 * MIB - 1}/${size}`, cut]);
      assert.deepEqual(ranges.slice(2).filter((r) => r !== cut), [
        `bytes */${size}`, // how much do you have?
        `bytes ${3.25 * MIB}-${5.25 * MIB - 1}/${size}`, // from there on
        `bytes ${5.25 * MIB}-${size - 1}/${size}`,
      ]);
      assert.equal(
        server.requests.filter((r) =>
          r.url.includes("uploadType=resumable") && !r.url.includes("upload_id")
        ).length,
        1,
        "one session",
      );
      const object = server.buckets.get("bucket")!.get("pre fix/obj")!;
      assert.equal(createHash("md5").update(object.bytes).digest("hex"), hash);
    },
    { simpleUploadLimit: 2 * MIB, chunkSize: 2 * MIB },
  );
}

gcsTest(
  "a chunk answered 503 or 429 is resumed after Retry-After; a permanent error cancels the session",
  async ({ server, store, dir }) => {
    const file = join(dir, "big");
    const hash = await writeRandom(file, 5 * MIB);
    server.failMatching((m, url) => m === "PUT" && url.includes("upload_id"), { status: 503 });
    server.failMatching((m, url) => m === "PUT" && url.includes("upload_id"), {
      status: 429,
      retryAfter: "0",
    });
    await store.put("obj", file, { expect: { hash, scheme: "md5" } });
    assert.equal(
      server.requests.filter((r) =>
        r.url.includes("uploadType=resumable") && !r.url.includes("upload_id")
      ).length,
      1,
    );
    assert.deepEqual(server.names("bucket"), ["pre fix/obj"]);

    server.failMatching((m, url) => m === "PUT" && url.includes("upload_id"), {
      status: 403,
      reason: "forbidden",
    });
    await assert.rejects(store.put("other", file, {}), AuthError);
    assert.equal(server.requests.at(-1)!.method, "DELETE", "the session is cancelled");
    assert.equal(server.openSessions(), 0);
    assert.deepEqual(server.names("bucket"), ["pre fix/obj"]);
  },
  { simpleUploadLimit: 2 * MIB, chunkSize: 2 * MIB },
);

gcsTest(
  "a token the server revoked is refreshed exactly once, however many requests saw the 401",
  async ({ server, store, dir }) => {
    const file = join(dir, "f");
    await writeFile(file, "x");
    await store.put("a", file, {});
    assert.equal(server.oauth.tokenRequests.length, 1);
    server.oauth.revokeAll();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.exists(i === 0 ? "a" : `none/${i}`)),
    );
    assert.deepEqual(results, [true, ...Array(19).fill(false)]);
    assert.equal(server.oauth.tokenRequests.length, 2, "one refresh");
    assert.equal(
      server.oauth.tokenRequests[1]!.grant,
      "urn:ietf:params:oauth:grant-type:jwt-bearer",
    );
  },
);

gcsTest(
  "rate limits and 5xx are transient with Retry-After; the retry wrapper then succeeds",
  async ({ server, store, dir }) => {
    const file = join(dir, "f");
    const hash = await writeRandom(file, 1000);
    assert.equal(await store.exists("k"), false); // the token is fetched before the faults
    for (
      const fault of [
        { status: 429, reason: "rateLimitExceeded", retryAfter: "4" },
        { status: 403, reason: "userRateLimitExceeded" },
        { status: 503, reason: "backendError" },
        { status: 408, reason: "requestTimeout" },
      ]
    ) {
      server.failNext(fault);
      await assert.rejects(store.put("k", file, {}), (e) => {
        assert.ok(e instanceof StoreError && e.transient, `${JSON.stringify(fault)}: ${e}`);
        if (fault.retryAfter) assert.equal(e.retryAfterMs, 4000);
        return true;
      });
    }
    server.failNext({ status: 403, reason: "forbidden" });
    await assert.rejects(store.exists("k"), AuthError);
    server.failNext({ status: 400, reason: "invalid" });
    await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && !e.transient);
    const delays: number[] = [];
    const retrying = withRetry(store, {
      sleep: (ms) => Promise.resolve(void delays.push(ms)),
      random: () => 0,
    });
    server.failNext({ status: 429, reason: "rateLimitExceeded", retryAfter: "2" });
    server.failNext({ status: 500 });
    await retrying.put("k", file, { expect: { hash, scheme: "md5" } });
    assert.deepEqual(delays, [2000, 250]);
    assert.deepEqual(server.names("bucket"), ["pre fix/k"]);
  },
);

gcsTest(
  "list() pages with nextPageToken and returns every key once",
  async ({ server, store, dir }) => {
    const file = join(dir, "f");
    await writeFile(file, "x");
    const keys = Array.from({ length: 23 }, (_, i) => `files/md5/ab/${i} ü %2F+&`);
    for (const key of keys) await store.put(key, file, {});
    await store.put("files/md5/ac/other", file, {});
    const before = server.requests.length;
    assert.deepEqual((await collect(store.list("files/md5/ab/"))).sort(), [...keys].sort());
    assert.equal(server.requests.length - before, 5, "23 keys in pages of 5");
    assert.deepEqual(server.names("bucket", "pre fix/files/md5/ab/").length, 23);
  },
  { listPageSize: 5 },
);

Deno.test({
  name: "GCS credentials: every source, in DVC's order, and anonymous for public buckets",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { dir, cleanup } = await scratch("dxp-gcs-auth-");
    const server = await startGcsContractServer();
    try {
      server.addBucket("bucket");
      server.addBucket("open", { public: true });
      server.buckets.get("open")!.set("files/md5/ab/c", {
        bytes: new TextEncoder().encode("public"),
        md5: createHash("md5").update("public").digest("base64"),
        generation: 1,
      });
      const sa = server.oauth.addServiceAccount("sa@p.iam.gserviceaccount.com").file;
      writeFileSync(join(dir, "sa.json"), JSON.stringify(sa));
      server.oauth.addClient("adc-client", "adc-secret");
      const user = {
        type: "authorized_user",
        client_id: "adc-client",
        client_secret: "adc-secret",
        refresh_token: server.oauth.addRefreshToken("adc-client", "me@example.com"),
        token_uri: server.oauth.tokenUri,
      };
      writeFileSync(join(dir, "user.json"), JSON.stringify(user));
      mkdirSync(join(dir, "gcloud"));
      writeFileSync(
        join(dir, "gcloud", "application_default_credentials.json"),
        JSON.stringify(user),
      );
      const file = join(dir, "f");
      writeFileSync(file, "data");
      const principals = () => [...server.oauth.tokens.values()].map((t) => t.principal);
      const put = async (
        options: Record<string, string>,
        env: Record<string, string>,
        key: string,
      ) => {
        const store = openGcsStore("gs://bucket", { endpointurl: server.url, ...options }, {
          env: { ...ENV, ...env },
        });
        await store.put(key, file, {});
      };
      await put({ credentialpath: join(dir, "sa.json") }, {}, "credentialpath");
      assert.deepEqual(principals(), ["sa@p.iam.gserviceaccount.com"]);
      await put({}, { GOOGLE_APPLICATION_CREDENTIALS: join(dir, "user.json") }, "gac-user");
      await put({ credentialpath: join(dir, "sa.json") }, {
        GOOGLE_APPLICATION_CREDENTIALS: join(dir, "user.json"),
      }, "option-first");
      await put({}, { CLOUDSDK_CONFIG: join(dir, "gcloud") }, "gcloud-adc");
      server.metadata = true;
      await put({}, { NO_GCE_CHECK: "false", GCE_METADATA_HOST: server.host }, "metadata");
      assert.deepEqual(principals(), [
        "sa@p.iam.gserviceaccount.com",
        "me@example.com",
        "sa@p.iam.gserviceaccount.com",
        "me@example.com",
        "metadata-default",
      ]);
      const refresh = server.oauth.tokenRequests.find((r) => r.grant === "refresh_token")!;
      assert.deepEqual(Object.keys(refresh.form).sort(), [
        "client_id",
        "client_secret",
        "grant_type",
        "refresh_token",
      ]);
      assert.deepEqual(server.names("bucket"), [
        "credentialpath",
        "gac-user",
        "gcloud-adc",
        "metadata",
        "option-first",
      ]);

      // Anonymous: a public bucket reads without any Authorization header; a private one refuses.
      const before = server.requests.length;
      const anonymous = openGcsStore("gs://open", {
        endpointurl: server.url,
        allow_anonymous_login: "true",
        credentialpath: join(dir, "sa.json"),
      }, { env: ENV });
      assert.deepEqual(await collect(anonymous.list("")), ["files/md5/ab/c"]);
      await anonymous.get("files/md5/ab/c", join(dir, "got"), {});
      assert.equal(readFileSync(join(dir, "got"), "utf8"), "public");
      for (const request of server.requests.slice(before)) {
        assert.equal(request.headers["authorization"], undefined);
      }
      const nobody = openGcsStore("gs://bucket", { endpointurl: server.url }, { env: ENV });
      await assert.rejects(nobody.put("x", file, {}), (e) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.match(
          e.message,
          /no credentials were found; set credentialpath .* GOOGLE_APPLICATION_CREDENTIALS/,
        );
        return true;
      });
    } finally {
      await server.stop();
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "GCS credentials: a key the token endpoint refuses is one AuthError; a missing file a ConfigError",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { dir, cleanup } = await scratch("dxp-gcs-auth-");
    const server = await startGcsContractServer();
    const other = await startGcsContractServer();
    try {
      server.addBucket("bucket");
      // A key the server never issued (another project's): its signature cannot verify.
      const foreign = other.oauth.addServiceAccount("sa@p.iam.gserviceaccount.com").file;
      server.oauth.addServiceAccount("sa@p.iam.gserviceaccount.com");
      writeFileSync(
        join(dir, "foreign.json"),
        JSON.stringify({ ...foreign, token_uri: server.oauth.tokenUri }),
      );
      const store = openGcsStore("gs://bucket", {
        endpointurl: server.url,
        credentialpath: join(dir, "foreign.json"),
      }, { env: ENV });
      await assert.rejects(store.exists("k"), (e) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.match(
          e.message,
          /service account 'sa@p.iam.gserviceaccount.com'.*invalid_grant: Invalid JWT Signature/,
        );
        assert.ok(!e.message.includes(foreign.private_key_id));
        return true;
      });
      const missing = openGcsStore("gs://bucket", {
        endpointurl: server.url,
        credentialpath: join(dir, "absent.json"),
      }, { env: ENV });
      await assert.rejects(missing.exists("k"), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, /absent.json' \(the remote's credentialpath\): it does not exist/);
        return true;
      });
      writeFileSync(join(dir, "ext.json"), JSON.stringify({ type: "external_account" }));
      const external = openGcsStore("gs://bucket", { endpointurl: server.url }, {
        env: { ...ENV, GOOGLE_APPLICATION_CREDENTIALS: join(dir, "ext.json") },
      });
      await assert.rejects(
        external.exists("k"),
        /type 'external_account', which dxp does not support/,
      );
    } finally {
      await server.stop();
      await other.stop();
      await cleanup();
    }
  },
});

Deno.test({
  name: "GCS store: a missing bucket is one clear permanent error, not a missing object",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { dir, cleanup } = await scratch("dxp-gcs-");
    const { server, keyPath } = await setup(dir);
    try {
      const store = openGcsStore("gs://nobucket/x", {
        endpointurl: server.url,
        credentialpath: keyPath,
      }, { env: ENV });
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
            "Bucket 'nobucket' does not exist (remote 'gs://nobucket/x'): create it or fix the remote's URL.",
          );
          return true;
        });
      }
    } finally {
      await server.stop();
      await cleanup();
    }
  },
});

Deno.test("GCS options: endpointurl, then STORAGE_EMULATOR_HOST (scheme added), then Google's", () => {
  assert.equal(
    parseGcsRemote("gs://b/p", { endpointurl: "http://h:1/" }, { STORAGE_EMULATOR_HOST: "e:2" })
      .endpoint,
    "http://h:1",
  );
  assert.equal(
    parseGcsRemote("gs://b/p", {}, { STORAGE_EMULATOR_HOST: "e:2" }).endpoint,
    "http://e:2",
  );
  assert.equal(
    parseGcsRemote("gs://b/p", {}, { STORAGE_EMULATOR_HOST: "https://e:2" }).endpoint,
    "https://e:2",
  );
  const google = parseGcsRemote("gs://b/p/q/", {}, {});
  assert.equal(google.endpoint, "https://storage.googleapis.com");
  assert.equal(google.prefix, "p/q");
  assert.equal(google.displayUrl, "gs://b/p/q");
  assert.throws(() => parseGcsRemote("gs://", {}, {}), ConfigError);
  assert.throws(
    () => parseGcsRemote("gs://b", { endpointurl: "http://h:1/path" }, {}),
    /without a path/,
  );
  assert.throws(
    () => parseGcsRemote("gs://b", { allow_anonymous_login: "maybe" }, {}),
    ConfigError,
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
