/**
 * The HTTP store against a small upload server in the test process. DVC's
 * HTTP remote is "any server that serves GET/HEAD and accepts POST or PUT",
 * so a plain node:http server that writes uploads to a temp file and renames
 * them when the body is complete is a faithful peer. It can require Basic or
 * custom-header auth, refuse HEAD, and inject faults.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { writeFile } from "node:fs/promises";
import { AuthError, ConfigError, CorruptError, StoreError } from "../lib/errors/mod.ts";
import { createHttpStore, HttpStore } from "../lib/store/http.ts";
import type { Store } from "../lib/store/types.ts";
import { startGitHttpServer } from "./helpers/http_git_server.ts";
import { startSilentServer } from "./helpers/imds_stub.ts";
import { scratch } from "./helpers/tmp.ts";
import { type FaultInjector, storeSuite } from "./store_suite.ts";

interface FakeRemoteOptions {
  method?: "POST" | "PUT";
  basic?: { user: string; password: string };
  custom?: { header: string; value: string };
  noHead?: boolean;
}

interface FakeRemote extends FaultInjector {
  url: string;
  root: string;
  requests: { method: string; url: string; authorization?: string; transferEncoding?: string }[];
  /** Committed objects (relative paths), temp uploads excluded. */
  objects(): Promise<string[]>;
  stop(): Promise<void>;
}

type Fault = { status: number; retryAfter?: string } | "reset" | "truncate" | "stall";

interface FakeRemote extends FaultInjector {
  failNext(fault: Fault, count?: number): void;
}

async function startFakeRemote(options: FakeRemoteOptions = {}): Promise<FakeRemote> {
  const base = await scratch("dxp-http-remote-");
  const root = join(base.dir, "objects");
  const incoming = join(base.dir, "incoming");
  await mkdir(root);
  await mkdir(incoming);
  const requests: FakeRemote["requests"] = [];
  let faults: Fault[] = [];
  let uploads = 0;

  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({
      method,
      url: req.url ?? "/",
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers["transfer-encoding"]
        ? { transferEncoding: req.headers["transfer-encoding"] }
        : {}),
    });
    const fault = faults.shift();
    if (fault === "reset") return void req.socket.destroy();
    if (typeof fault === "object") {
      req.resume();
      req.on("end", () => {
        res.writeHead(fault.status, fault.retryAfter ? { "retry-after": fault.retryAfter } : {});
        res.end("injected");
      });
      return;
    }
    if (options.basic) {
      const expected = "Basic " +
        Buffer.from(`${options.basic.user}:${options.basic.password}`).toString("base64");
      if (req.headers.authorization !== expected) {
        req.resume();
        res.writeHead(401, { "www-authenticate": 'Basic realm="dvc"' });
        return void res.end();
      }
    }
    if (options.custom && req.headers[options.custom.header] !== options.custom.value) {
      req.resume();
      res.writeHead(403);
      return void res.end();
    }
    if (!url.pathname.startsWith("/store/")) {
      res.writeHead(404);
      return void res.end();
    }
    const relative = decodeURIComponent(url.pathname.slice("/store/".length));
    const file = join(root, relative);
    if (relative.split("/").includes("..")) {
      res.writeHead(400);
      return void res.end();
    }
    if (method === (options.method ?? "POST")) {
      const temp = join(incoming, `${++uploads}`);
      const out = createWriteStream(temp);
      let complete = false;
      req.pipe(out);
      req.on("end", () => (complete = true));
      out.on("finish", async () => {
        if (!complete) return void unlink(temp).catch(() => {});
        await mkdir(dirname(file), { recursive: true });
        await rename(temp, file);
        res.writeHead(201);
        res.end();
      });
      req.on("close", () => {
        if (!complete) out.destroy();
        if (!complete) void unlink(temp).catch(() => {});
      });
      return;
    }
    if (method === "POST" || method === "PUT") {
      req.resume();
      res.writeHead(405);
      return void res.end();
    }
    if (method === "HEAD" && options.noHead) {
      res.writeHead(405);
      return void res.end();
    }
    if (method === "DELETE") {
      void rm(file).then(() => {
        res.writeHead(204);
        res.end();
      }, () => {
        res.writeHead(404);
        res.end();
      });
      return;
    }
    void stat(file).then((info) => {
      if (!info.isFile()) throw new Error("not a file");
      const range = /^bytes=0-0$/.test(req.headers.range ?? "") && info.size > 0;
      const length = range ? 1 : info.size;
      res.writeHead(range ? 206 : 200, { "content-length": String(length) });
      if (method === "HEAD") return void res.end();
      const stream = createReadStream(file, range ? { start: 0, end: 0 } : {});
      if (fault === "stall") {
        // half the body, then silence with the connection open
        stream.once("data", (chunk) => {
          stream.destroy();
          res.write((chunk as Buffer).subarray(0, Math.floor(length / 2)));
        });
        return;
      }
      if (fault === "truncate") {
        let sent = 0;
        stream.on("data", (chunk) => {
          const room = Math.floor(length / 2) - sent;
          if (room > 0) res.write((chunk as Buffer).subarray(0, room));
          sent += Math.min(room, chunk.length);
          if (sent >= Math.floor(length / 2)) {
            stream.destroy();
            res.socket?.end(() => res.socket?.destroy());
          }
        });
        return;
      }
      stream.pipe(res);
    }, () => {
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/store`,
    root,
    requests,
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    clear() {
      faults = [];
    },
    async objects() {
      const entries = await readdir(root, { recursive: true, withFileTypes: true });
      return entries.filter((e) => e.isFile()).map((e) =>
        join(e.parentPath, e.name).slice(root.length + 1)
      );
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await base.cleanup();
    },
  };
}

/**
 * HTTP remotes cannot list; for the shared suite, `list` is answered from the
 * server's own storage (what a listing would show), everything else is the
 * real HttpStore.
 */
function withServerListing(store: Store, remote: FakeRemote): Store {
  return {
    displayUrl: store.displayUrl,
    canList: store.canList,
    exists: (key, signal) => store.exists(key, signal),
    async *list(prefix) {
      for (const key of await remote.objects()) if (key.startsWith(prefix)) yield key;
    },
    put: (key, path, options) => store.put(key, path, options),
    get: (key, path, options) => store.get(key, path, options),
    delete: (key, signal) => store.delete(key, signal),
    close: () => store.close(),
  };
}

storeSuite("http/fake-peer", async () => {
  const remote = await startFakeRemote();
  const store = createHttpStore(remote.url, {}, { env: {} });
  return {
    store: withServerListing(store, remote),
    inject: remote,
    remote: { type: "http", url: remote.url, options: {}, env: {} },
    teardown: () => remote.stop(),
    rawEntries:
      async () => [...await remote.objects(), ...await readdir(join(remote.root, "../incoming"))],
  };
}, { faults: "requests" });

/** One fake remote and scratch folder per test. */
const httpTest = (
  name: string,
  remoteOptions: FakeRemoteOptions,
  fn: (remote: FakeRemote, dir: string) => Promise<void>,
) =>
  Deno.test(name, async () => {
    const remote = await startFakeRemote(remoteOptions);
    const local = await scratch("dxp-http-");
    try {
      await fn(remote, local.dir);
    } finally {
      await remote.stop();
      await local.cleanup();
    }
  });

httpTest("HttpStore uploads with PUT when method = PUT", { method: "PUT" }, async (remote, dir) => {
  const file = join(dir, "f");
  await writeFile(file, "put me");
  const post = createHttpStore(remote.url, {}, { env: {} });
  await assert.rejects(
    post.put("a/b", file, {}),
    (e) => e instanceof StoreError && /405/.test(e.message),
  );
  const put = createHttpStore(remote.url, { method: "put" }, { env: {} });
  await put.put("a/b", file, {});
  assert.deepEqual(await remote.objects(), ["a/b"]);
  assert.deepEqual(remote.requests.map((r) => r.method), ["POST", "PUT"]);
});

httpTest(
  "HttpStore sends Basic auth from user/password or from the URL, never showing the password",
  { basic: { user: "alice", password: "s3cr3t pass" } },
  async (remote, dir) => {
    const file = join(dir, "f");
    await writeFile(file, "x");
    const anonymous = createHttpStore(remote.url, {}, { env: {} });
    await assert.rejects(anonymous.exists("k"), (e) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(e.message, /HTTP 401/);
      return true;
    });
    const wrong = createHttpStore(remote.url, { auth: "basic", user: "alice", password: "nope" }, {
      env: {},
    });
    await assert.rejects(wrong.put("k", file, {}), AuthError);
    const right = createHttpStore(remote.url, {
      auth: "basic",
      user: "alice",
      password: "s3cr3t pass",
    }, { env: {} });
    await right.put("k", file, {});
    assert.equal(await right.exists("k"), true);
    const inUrl = remote.url.replace("http://", "http://alice:s3cr3t%20pass@");
    const debug: string[] = [];
    const fromUrl = createHttpStore(inUrl, {}, { env: {}, onDebug: (line) => debug.push(line) });
    assert.equal(fromUrl.displayUrl, remote.url.replace("http://", "http://alice:***@"));
    assert.equal(await fromUrl.exists("k"), true);
    await assert.rejects(fromUrl.get("missing", join(dir, "m"), {}), (e) => {
      assert.ok(!String(e).includes("s3cr3t"), String(e));
      return true;
    });
    for (const line of debug) assert.ok(!line.includes("s3cr3t"), line);
  },
);

httpTest(
  "HttpStore sends the password in custom_auth_header with auth = custom",
  { custom: { header: "x-api-key", value: "token-123" } },
  async (remote, dir) => {
    const file = join(dir, "f");
    await writeFile(file, "x");
    const store = createHttpStore(remote.url, {
      auth: "custom",
      custom_auth_header: "X-API-Key",
      password: "token-123",
    }, { env: {} });
    await store.put("k", file, {});
    assert.equal(await store.exists("k"), true);
    const without = createHttpStore(remote.url, {}, { env: {} });
    await assert.rejects(without.exists("k"), AuthError);
  },
);

httpTest(
  "HttpStore.exists() falls back to a 1-byte GET when HEAD is refused",
  { noHead: true },
  async (remote, dir) => {
    const file = join(dir, "f");
    await writeFile(file, "content");
    const store = createHttpStore(remote.url, {}, { env: {} });
    await store.put("files/md5/aa/bb", file, {});
    assert.equal(await store.exists("files/md5/aa/bb"), true);
    assert.equal(await store.exists("files/md5/aa/cc"), false);
  },
);

httpTest("HttpStore.put() with a wrong expect sends nothing", {}, async (remote, dir) => {
  const store = createHttpStore(remote.url, {}, { env: {} });
  for (const size of [10, 20 * 1024 * 1024]) {
    const file = join(dir, `f${size}`);
    await writeFile(file, new Uint8Array(size).fill(1));
    await assert.rejects(
      store.put("k", file, { expect: { hash: "0".repeat(32), scheme: "md5" } }),
      CorruptError,
    );
  }
  assert.deepEqual(remote.requests, []);
});

httpTest(
  "HttpStore streams large uploads chunked and small ones with a length",
  {},
  async (remote, dir) => {
    const store = createHttpStore(remote.url, {}, { env: {} });
    const small = join(dir, "small");
    const big = join(dir, "big");
    await writeFile(small, new Uint8Array(1024).fill(2));
    await writeFile(big, new Uint8Array(17 * 1024 * 1024).fill(3));
    let reported = 0;
    await store.put("small", small, { onBytes: (n) => reported += n });
    await store.put("big", big, { onBytes: (n) => reported += n });
    assert.equal(reported, 1024 + 17 * 1024 * 1024);
    assert.deepEqual(remote.requests.map((r) => r.transferEncoding), [undefined, "chunked"]);
    assert.equal((await stat(join(remote.root, "big"))).size, 17 * 1024 * 1024);
  },
);

httpTest("HttpStore classifies 5xx/429 as transient with Retry-After", {}, async (remote, dir) => {
  const store = createHttpStore(remote.url, {}, { env: {} });
  const file = join(dir, "f");
  await writeFile(file, "x");
  remote.failNext({ status: 503, retryAfter: "3" });
  await assert.rejects(store.put("k", file, {}), (e) => {
    assert.ok(e instanceof StoreError && e.transient, String(e));
    assert.equal(e.retryAfterMs, 3000);
    return true;
  });
  remote.failNext({ status: 429 });
  await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && e.transient);
  remote.failNext({ status: 400 });
  await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && !e.transient);
  // The runtime's HTTP client may resend a request whose reused connection closed: reset them all.
  remote.failNext("reset", 5);
  await assert.rejects(store.exists("k"), (e) => e instanceof StoreError && e.transient);
  remote.clear();
});

httpTest("HttpStore keeps the URL's query string on every object URL", {}, async (remote, dir) => {
  const store = createHttpStore(`${remote.url}?token=abc`, {}, { env: {} });
  const file = join(dir, "f");
  await writeFile(file, "x");
  await store.put("files/md5/ab/c d", file, {});
  assert.equal(remote.requests[0]?.url, "/store/files/md5/ab/c%20d?token=abc");
});

httpTest(
  "HttpStore gives up on a body that stalls longer than read_timeout",
  {},
  async (remote, dir) => {
    const store = createHttpStore(remote.url, { read_timeout: "1" }, { env: {} });
    const file = join(dir, "f");
    await writeFile(file, new Uint8Array(4096).fill(5));
    await store.put("k", file, {});
    remote.failNext("stall");
    // The message names the limit that ended it: read_timeout, not the 60 s default nor a cut.
    await assert.rejects(store.get("k", join(dir, "out", "k"), {}), (e) => {
      assert.ok(e instanceof StoreError && e.transient, String(e));
      assert.match(e.message, /no answer within 1 s; retry later or raise read_timeout\.$/);
      assert.equal(e.data["timeout"], true);
      return true;
    });
    // Nothing left behind (a small body is held in memory: the folder is not even made).
    const left = await readdir(join(dir, "out")).catch((e) =>
      e.code === "ENOENT" ? [] : Promise.reject(e)
    );
    assert.deepEqual(left, []);
  },
);

Deno.test("HttpStore gives up on a server that never answers (connect + read timeout)", async () => {
  const silent = await startSilentServer();
  try {
    const store = createHttpStore(`${silent.endpoint}/x`, {
      connect_timeout: "1",
      read_timeout: "1",
    }, { env: {} });
    // connect_timeout + read_timeout bound the whole request: the message names their sum.
    await assert.rejects(store.exists("k"), (e) => {
      assert.ok(e instanceof StoreError && e.transient, String(e));
      assert.match(e.message, /no answer within 2 s; retry later or raise read_timeout\.$/);
      assert.equal(e.data["timeout"], true);
      return true;
    });
    assert.ok(silent.connections() >= 1, "the request reached the silent server");
  } finally {
    await silent.stop();
  }
});

Deno.test("HttpStore names ssl_verify when the server's certificate is not trusted", async () => {
  const server = await startGitHttpServer({ tls: true });
  try {
    const store = createHttpStore(`${server.baseUrl}/dvc`, {}, { env: {} });
    await assert.rejects(store.exists("k"), (e) => {
      assert.ok(e instanceof StoreError && !e.transient, String(e));
      assert.match(e.message, /TLS certificate is not trusted .*set the remote's ssl_verify/);
      return true;
    });
  } finally {
    await server.stop();
  }
});

Deno.test("HttpStore options: digest auth, missing user and bad method are refused", () => {
  const url = "https://example.com/dvc";
  assert.throws(
    () => createHttpStore(url, { auth: "digest", user: "u" }, { env: {} }),
    ConfigError,
  );
  assert.throws(() => createHttpStore(url, { auth: "basic" }, { env: {} }), /no 'user'/);
  assert.throws(
    () => createHttpStore(url, { auth: "custom", password: "p" }, { env: {} }),
    /custom_auth_header/,
  );
  assert.throws(() => createHttpStore(url, { method: "PATCH" }, { env: {} }), /POST or PUT/);
  assert.throws(() => createHttpStore(url, { ask_password: "true" }, { env: {} }), /interactively/);
  const store = createHttpStore(url, {}, { env: {} });
  assert.ok(store instanceof HttpStore);
  assert.equal(store.canList, false);
});

Deno.test("HttpStore.list() refuses: HTTP remotes cannot list", async () => {
  const store = createHttpStore("http://127.0.0.1:9/x", {}, { env: {} });
  await assert.rejects(async () => {
    for await (const _ of store.list("files/")) { /* nothing */ }
  }, /cannot list/);
});
