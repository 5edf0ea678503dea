import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { AuthError, ConfigError, GitRemoteError } from "../lib/errors/mod.ts";
import { buildPack } from "../lib/git/pack/build_pack.ts";
import { objectsToSend } from "../lib/git/pack/objects_to_send.ts";
import { storePack } from "../lib/git/pack/store_pack.ts";
import { createHttpTransport } from "../lib/git/transport/http.ts";
import { HttpAuth, isLoopbackHost } from "../lib/git/transport/http_auth.ts";
import { extraHeadersFor } from "../lib/git/transport/http_extra_headers.ts";
import { proxyFor } from "../lib/git/transport/http_proxy.ts";
import { type TransportOptions, ZERO_OID } from "../lib/git/transport/types.ts";
import { startGitHttpServer, startHttpProxy } from "./helpers/http_git_server.ts";
import { git, scratch } from "./helpers/tmp.ts";
import { transportSuite } from "./transport_suite.ts";

const AUTH_HELP = "See https://dvc.org/doc/user-guide/troubleshooting#git-auth";
const GIT_ENV = {
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "A",
  GIT_AUTHOR_EMAIL: "a@example.com",
  GIT_COMMITTER_NAME: "C",
  GIT_COMMITTER_EMAIL: "c@example.com",
};

/** Options with exactly `env` (nothing inherited from the test process, whose CA variables would leak in). */
function options(
  env: Record<string, string | undefined>,
  cwd: string,
  config: Record<string, string> = {},
  debug?: string[],
): TransportOptions {
  const base = { env, cwd, gitConfig: (key: string) => config[key] };
  return debug === undefined ? base : { ...base, onDebug: (line) => debug.push(line) };
}

/** A work tree with two commits, pushed as `main` and one experiment ref into `bare`. */
function seed(dir: string, bare: string): { first: string; second: string } {
  const work = join(dir, "work");
  git(["init", "--quiet", "-b", "main", work], dir, GIT_ENV);
  writeFileSync(join(work, "a.txt"), "one\n");
  git(["add", "a.txt"], work, GIT_ENV);
  git(["commit", "--quiet", "-m", "one"], work, GIT_ENV);
  const first = git(["rev-parse", "HEAD"], work, GIT_ENV).trim();
  writeFileSync(join(work, "a.txt"), "two\n");
  git(["commit", "--quiet", "-am", "two"], work, GIT_ENV);
  const second = git(["rev-parse", "HEAD"], work, GIT_ENV).trim();
  git(
    ["push", "--quiet", bare, `${first}:refs/heads/main`, `HEAD:refs/exps/ab/cdef/exp-a`],
    work,
    GIT_ENV,
  );
  return { first, second };
}

/** A work tree and its commits plus the (already started) server's bare repo. */
async function withServer(
  serverOptions: Parameters<typeof startGitHttpServer>[0],
  body: (ctx: {
    server: Awaited<ReturnType<typeof startGitHttpServer>>;
    dir: string;
    url: URL;
    commits: { first: string; second: string };
  }) => Promise<void>,
): Promise<void> {
  const server = await startGitHttpServer(serverOptions);
  const tmp = await scratch();
  try {
    const bare = server.createBareRepo("r.git");
    const commits = seed(tmp.dir, bare);
    await body({ server, dir: tmp.dir, url: new URL(`${server.baseUrl}/r.git`), commits });
  } finally {
    await server.stop();
    await tmp.cleanup();
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

for (const v0 of [false, true]) {
  const protocol = v0 ? 0 : 2;
  Deno.test(`listRefs() over http returns the prefixed refs with protocol v${protocol}`, async () => {
    await withServer({ v0 }, async ({ server, dir, url, commits }) => {
      const transport = createHttpTransport(url, options({}, dir));
      const adv = await transport.listRefs({ prefixes: ["refs/exps/"] });
      assert.equal(adv.protocol, protocol);
      assert.deepEqual([...adv.refs], [["refs/exps/ab/cdef/exp-a", commits.second]]);
      const all = await transport.listRefs();
      assert.equal(all.refs.get("refs/heads/main"), commits.first);
      assert.deepEqual(
        server.requests.slice(0, 2).map((r) => `${r.method} ${r.url}`),
        [
          "GET /r.git/info/refs?service=git-upload-pack",
          ...(v0
            ? ["GET /r.git/info/refs?service=git-upload-pack"]
            : ["POST /r.git/git-upload-pack"]),
        ],
      );
    });
  });

  Deno.test(`fetchPack() and send() round-trip objects and refs with protocol v${protocol}`, async () => {
    await withServer({ v0 }, async ({ dir, url, commits }) => {
      const transport = createHttpTransport(url, options({}, dir));
      const local = join(dir, "local.git");
      git(["init", "--quiet", "--bare", local], dir, GIT_ENV);
      const fetch = await transport.openFetch({ prefixes: ["refs/heads/"] });
      const pack1 = await fetch.fetchPack([commits.first], []);
      await fetch.close();
      assert.deepEqual(await storePack(local, pack1), { objects: 3 });
      // With the first commit as a have, only the second commit's objects come.
      const again = await transport.openFetch({ prefixes: ["refs/exps/"] });
      const pack2 = await again.fetchPack([commits.second], [commits.first]);
      assert.deepEqual(await again.fetchPack([], []), new Uint8Array(0));
      await again.close();
      assert.deepEqual(await storePack(local, pack2), { objects: 3 });
      git(["update-ref", "refs/exps/ab/cdef/exp-a", commits.second], local, GIT_ENV);
      git(["fsck", "--strict", "--no-dangling"], local, GIT_ENV);

      const work = join(dir, "work");
      writeFileSync(join(work, "b.txt"), "three\n");
      git(["add", "b.txt"], work, GIT_ENV);
      git(["commit", "--quiet", "-m", "three"], work, GIT_ENV);
      const third = git(["rev-parse", "HEAD"], work, GIT_ENV).trim();
      const push = await transport.openPush();
      const oids = await objectsToSend(join(work, ".git"), [third], [
        ...push.advertisement.refs.values(),
      ]);
      const results = await push.send(
        [
          { ref: "refs/exps/ab/cdef/exp-b", oldOid: ZERO_OID, newOid: third },
          { ref: "refs/exps/ab/cdef/exp-a", oldOid: commits.second, newOid: ZERO_OID },
        ],
        await buildPack(join(work, ".git"), oids),
        { atomic: true },
      );
      await push.close();
      assert.deepEqual(results, [
        { ref: "refs/exps/ab/cdef/exp-b", ok: true },
        { ref: "refs/exps/ab/cdef/exp-a", ok: true },
      ]);
      const after = await transport.listRefs({ prefixes: ["refs/exps/"] });
      assert.deepEqual([...after.refs], [["refs/exps/ab/cdef/exp-b", third]]);
    });
  });
}

Deno.test("listRefs() over https trusts the CA from GIT_SSL_CAINFO, SSL_CERT_FILE or http.sslCAInfo", async () => {
  await withServer({ tls: true }, async ({ server, dir, url, commits }) => {
    const ca = server.caFile ?? "";
    for (
      const opts of [
        options({ GIT_SSL_CAINFO: ca }, dir),
        options({ SSL_CERT_FILE: ca }, dir),
        options({}, dir, { "http.sslCAInfo": ca }),
      ]
    ) {
      const adv = await createHttpTransport(url, opts).listRefs({ prefixes: ["refs/exps/"] });
      assert.equal(adv.refs.get("refs/exps/ab/cdef/exp-a"), commits.second);
    }
  });
});

Deno.test("listRefs() fails with one TLS line when the server's CA is not trusted", async () => {
  await withServer({ tls: true }, async ({ dir, url }) => {
    const error = await rejection(createHttpTransport(url, options({}, dir)).listRefs());
    assert.ok(error instanceof GitRemoteError);
    assert.match(
      error.message,
      /^The TLS certificate of 'https:\/\/127\.0\.0\.1:\d+\/r\.git' is not trusted \(/,
    );
    assert.match(error.message, /GIT_SSL_CAINFO, SSL_CERT_FILE or http\.sslCAInfo/);
    assert.doesNotMatch(error.message, /\n/);
  });
});

Deno.test("listRefs() skips certificate checks with GIT_SSL_NO_VERIFY or http.sslVerify=false", async () => {
  await withServer({ tls: true }, async ({ dir, url }) => {
    for (
      const opts of [
        options({ GIT_SSL_NO_VERIFY: "1" }, dir),
        options({}, dir, { "http.sslVerify": "false" }),
      ]
    ) {
      const adv = await createHttpTransport(url, opts).listRefs();
      assert.equal(adv.refs.size, 2);
    }
  });
});

Deno.test("listRefs() fails with a ConfigError naming the CA file when it is missing", async () => {
  await withServer({ tls: true }, async ({ dir, url }) => {
    const error = await rejection(
      createHttpTransport(url, options({ GIT_SSL_CAINFO: join(dir, "nope.pem") }, dir)).listRefs(),
    );
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^Cannot read the CA file '.*nope\.pem' \(ENOENT\)/);
  });
});

/** Git config with a shell helper answering `user`/`password` and a store helper that records approvals. */
function helperConfig(
  home: string,
  answer: { user: string; password: string } | null,
): Record<string, string> {
  const config = join(home, "gitconfig");
  const store = join(home, "store");
  const lines = ["[credential]"];
  if (answer !== null) {
    const script =
      `test \\"$1\\" = get && echo username=${answer.user} && echo password=${answer.password}`;
    lines.push(`\thelper = "!f() { ${script}; }; f"`);
  }
  lines.push(`\thelper = store --file=${store}`);
  writeFileSync(config, lines.join("\n") + "\n");
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    GIT_CONFIG_GLOBAL: config,
    GIT_CONFIG_NOSYSTEM: "1",
  };
}

Deno.test("listRefs() asks git credential helpers after a 401, retries once and approves", async () => {
  const auth = { user: "alice", password: "pa55-helper" };
  await withServer({ tls: true, auth }, async ({ server, dir, url, commits }) => {
    const env = { ...helperConfig(dir, auth), GIT_SSL_CAINFO: server.caFile };
    const transport = createHttpTransport(url, options(env, dir));
    const adv = await transport.listRefs({ prefixes: ["refs/exps/"] });
    assert.equal(adv.refs.get("refs/exps/ab/cdef/exp-a"), commits.second);
    assert.deepEqual(server.requests.map((r) => r.authorized), [false, true, true]);
    const port = new URL(server.baseUrl).port;
    assert.equal(
      readFileSync(join(dir, "store"), "utf8").trim(),
      `https://alice:pa55-helper@127.0.0.1%3a${port}`,
    );
    // The next session of the same transport sends the credentials straight away.
    const push = await transport.openPush();
    await push.close();
    assert.deepEqual(server.requests.slice(3).map((r) => r.authorized), [true]);
  });
});

Deno.test("listRefs() rejects wrong helper credentials with DVC's text and erases them", async () => {
  await withServer({ auth: { user: "alice", password: "right" } }, async ({ server, dir, url }) => {
    const env = helperConfig(dir, null);
    const port = new URL(server.baseUrl).port;
    writeFileSync(join(dir, "store"), `http://alice:wrong-secret@127.0.0.1%3a${port}\n`);
    const error = await rejection(createHttpTransport(url, options(env, dir)).listRefs());
    assert.ok(error instanceof AuthError);
    assert.equal(
      error.message,
      `Authentication failed for: '${server.baseUrl}/r.git'\n${AUTH_HELP}`,
    );
    assert.equal(readFileSync(join(dir, "store"), "utf8").trim(), "");
    assert.deepEqual(server.requests.map((r) => r.authorized), [false, false]);
  });
});

Deno.test("listRefs() fails with DVC's text when no helper has credentials", async () => {
  await withServer({ auth: { user: "alice", password: "right" } }, async ({ server, dir, url }) => {
    const error = await rejection(
      createHttpTransport(url, options(helperConfig(dir, null), dir)).listRefs(),
    );
    assert.equal(
      error.message,
      `Authentication failed for: '${server.baseUrl}/r.git'\n${AUTH_HELP}`,
    );
    assert.equal(server.requests.length, 1);
  });
});

Deno.test("listRefs() sends URL credentials and never shows the password when they are wrong", async () => {
  await withServer(
    { auth: { user: "alice", password: "url-secret" } },
    async ({ server, dir, url, commits }) => {
      const good = new URL(url.href);
      good.username = "alice";
      good.password = "url-secret";
      const ok = createHttpTransport(good, options({}, dir));
      assert.equal(ok.displayUrl, `http://alice:***@${good.host}/r.git`);
      assert.equal((await ok.listRefs()).refs.get("refs/exps/ab/cdef/exp-a"), commits.second);
      assert.deepEqual(server.requests.map((r) => r.authorized), [true, true]);

      const bad = new URL(good.href);
      bad.password = "not-the-secret";
      const debug: string[] = [];
      const error = await rejection(
        createHttpTransport(bad, options({}, dir, {}, debug)).listRefs(),
      );
      assert.ok(error instanceof AuthError);
      assert.equal(
        error.message,
        `Authentication failed for: 'http://alice:***@${good.host}/r.git'\n${AUTH_HELP}`,
      );
      assert.doesNotMatch([error.message, ...debug].join("\n"), /secret/);
    },
  );
});

Deno.test("listRefs() sends DXP_GIT_TOKEN as Basic with the user x-access-token", async () => {
  await withServer(
    { tls: true, auth: { user: "x-access-token", password: "tok-123" } },
    async (ctx) => {
      const env = { DXP_GIT_TOKEN: "tok-123", GIT_SSL_CAINFO: ctx.server.caFile };
      const adv = await createHttpTransport(ctx.url, options(env, ctx.dir)).listRefs();
      assert.equal(adv.refs.size, 2);
      assert.deepEqual(ctx.server.requests.map((r) => r.authorized), [true, true]);
    },
  );
});

Deno.test("listRefs() sends http.<url>.extraHeader as checkout actions store it", async () => {
  await withServer(
    { tls: true, auth: { user: "x-access-token", password: "ci-secret" } },
    async (ctx) => {
      const basic = (password: string) =>
        `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${password}`).toString("base64")}`;
      const env = { GIT_SSL_CAINFO: ctx.server.caFile };
      const key = `http.${ctx.server.baseUrl}/.extraheader`;
      const good = options(env, ctx.dir, {
        [key]: basic("ci-secret"),
        "http.extraheader": "X-Trace: 1",
      });
      assert.equal((await createHttpTransport(ctx.url, good).listRefs()).refs.size, 2);
      const bad = options(env, ctx.dir, { [key]: basic("stale") });
      const error = await rejection(createHttpTransport(ctx.url, bad).listRefs());
      assert.equal(error.message, `Authentication failed for: '${ctx.url.href}'\n${AUTH_HELP}`);
      assert.deepEqual(ctx.server.requests.map((r) => r.authorized), [true, true, false]);
    },
  );
});

Deno.test("extraHeadersFor() lets the most specific key win and an empty value reset", () => {
  const base = new URL("https://example.com/team/repo.git");
  const config: Record<string, string> = {
    "http.extraheader": "X-A: general",
    "http.https://example.com/.extraheader": "X-A: host",
    "http.https://example.com/team/repo.git.extraheader": "X-B: repo",
  };
  assert.deepEqual(extraHeadersFor(base, (k) => config[k]), { "X-A": "host", "X-B": "repo" });
  config["http.https://example.com/.extraheader"] = "";
  assert.deepEqual(extraHeadersFor(base, (k) => config[k]), { "X-B": "repo" });
  assert.deepEqual(extraHeadersFor(base, () => "no colon here"), {});
});

Deno.test("createHttpTransport() refuses a password in a plain-http URL to a non-loopback host", () => {
  assert.throws(
    () => createHttpTransport(new URL("http://bob:hunter2@example.com/r.git"), options({}, "/")),
    (error: Error) => {
      assert.ok(error instanceof AuthError);
      assert.equal(
        error.message,
        "Refusing to send credentials to 'http://bob:***@example.com/r.git' over plain http; use an https:// URL.",
      );
      return true;
    },
  );
});

Deno.test("HttpAuth never puts a token or helper credentials on plain http to a non-loopback host", async () => {
  const url = new URL("http://example.com/r.git");
  const auth = new HttpAuth(url, url.href, options({ DXP_GIT_TOKEN: "tok" }, "/"));
  assert.equal(auth.header(url), undefined);
  const error = await rejection(auth.onUnauthorized(url));
  assert.match(
    error.message,
    /^Refusing to send credentials to 'http:\/\/example\.com\/r\.git' over plain http/,
  );
  const local = new URL("http://127.0.0.7:8080/r.git");
  assert.match(
    new HttpAuth(local, local.href, options({ DXP_GIT_TOKEN: "t" }, "/")).header(local) ?? "",
    /^Basic /,
  );
});

Deno.test("isLoopbackHost() accepts only 127/8, ::1 and localhost", () => {
  for (const host of ["127.0.0.1", "127.255.0.9", "[::1]", "localhost", "LOCALHOST"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (
    const host of ["128.0.0.1", "10.0.0.1", "localhost.example.com", "127.0.0.1.nip.io", "::2"]
  ) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

Deno.test("listRefs() goes through https_proxy with CONNECT and through http_proxy with absolute URLs", async () => {
  const proxy = await startHttpProxy({ auth: { user: "p", password: "proxy-secret" } });
  try {
    const authed = proxy.url.replace("://", "://p:proxy-secret@");
    await withServer({ tls: true }, async ({ server, dir, url }) => {
      const env = { https_proxy: authed, GIT_SSL_CAINFO: server.caFile };
      assert.equal((await createHttpTransport(url, options(env, dir)).listRefs()).refs.size, 2);
      assert.deepEqual(proxy.requests, [
        `CONNECT ${url.host} HTTP/1.1`,
        `CONNECT ${url.host} HTTP/1.1`,
      ]);
      // no_proxy sends it direct; a wrong proxy password is one AuthError line without the secret.
      const direct = { ...env, no_proxy: "example.com,127.0.0.1" };
      assert.equal((await createHttpTransport(url, options(direct, dir)).listRefs()).refs.size, 2);
      assert.equal(proxy.requests.length, 2);
      const wrong = { ...env, https_proxy: proxy.url.replace("://", "://p:nope@") };
      const error = await rejection(createHttpTransport(url, options(wrong, dir)).listRefs());
      assert.ok(error instanceof AuthError);
      assert.equal(
        error.message,
        `Proxy authentication failed for: '${proxy.url.replace("://", "://p:***@")}'`,
      );
    });
    proxy.requests.length = 0;
    await withServer({}, async ({ dir, url }) => {
      const env = { http_proxy: authed, https_proxy: "http://127.0.0.1:1" };
      assert.equal((await createHttpTransport(url, options(env, dir)).listRefs()).refs.size, 2);
      assert.equal(proxy.requests[0], `GET ${url.href}/info/refs?service=git-upload-pack HTTP/1.1`);
      assert.ok(
        proxy.requests.every((line) => line.includes(` ${url.href}/`)),
        proxy.requests.join(),
      );
    });
  } finally {
    await proxy.stop();
  }
});

Deno.test("proxyFor() follows git and curl: http.proxy first, lower-case http_proxy only, no_proxy", () => {
  const t = (url: string, env: Record<string, string>, config: Record<string, string> = {}) =>
    proxyFor(new URL(url), options(env, "/", config))?.href;
  assert.equal(t("https://h.example/r", { HTTPS_PROXY: "proxy:3128" }), "http://proxy:3128/");
  assert.equal(t("http://h.example/r", { HTTP_PROXY: "http://proxy:3128" }), undefined);
  assert.equal(t("http://h.example/r", { ALL_PROXY: "http://all:1" }), "http://all:1/");
  assert.equal(
    t("https://h.example/r", { https_proxy: "http://env:1" }, { "http.proxy": "http://cfg:2" }),
    "http://cfg:2/",
  );
  assert.equal(
    t("https://git.h.example/r", { https_proxy: "http://p:1", no_proxy: ".h.example" }),
    undefined,
  );
  assert.equal(t("https://h.example/r", { https_proxy: "http://p:1", NO_PROXY: "*" }), undefined);
  assert.throws(
    () => t("https://h.example/r", { https_proxy: "socks5://p:1" }),
    /does not support/,
  );
});

Deno.test("listRefs() reports a missing repository as not a valid Git remote", async () => {
  await withServer({}, async ({ server, dir }) => {
    const url = new URL(`${server.baseUrl}/nope.git`);
    const error = await rejection(createHttpTransport(url, options({}, dir)).listRefs());
    assert.ok(error instanceof GitRemoteError);
    assert.equal(error.message, `'${server.baseUrl}/nope.git' is not a valid Git remote or URL`);
  });
});

Deno.test("listRefs() reports a refused connection in one line", async () => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const error = await rejection(
    createHttpTransport(new URL(`http://127.0.0.1:${port}/r.git`), options({}, "/")).listRefs(),
  );
  assert.equal(
    error.message,
    `Could not reach 'http://127.0.0.1:${port}/r.git': connection refused.`,
  );
});

/** A server answering discovery with fixed faults; `/moved.git` redirects to `target`. */
async function faultServer(target: string): Promise<{
  base: string;
  /** Resolves once `/hang.git` has sent the start of its answer (and gone silent). */
  hanging: Promise<void>;
  stop(): Promise<void>;
}> {
  let hung: () => void = () => {};
  const hanging = new Promise<void>((resolve) => hung = resolve);
  const server = http.createServer((req, res) => {
    const path = req.url ?? "";
    if (path.startsWith("/forbidden.git/")) {
      res.writeHead(403, { "Content-Type": "text/plain" });
      res.end("Permission to team/repo denied to bob.\n");
    } else if (path.startsWith("/broken.git/")) {
      res.writeHead(502, "Bad Gateway");
      res.end();
    } else if (path.startsWith("/dumb.git/")) {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(`${"a".repeat(40)}\trefs/heads/main\n`);
    } else if (path.startsWith("/moved.git/")) {
      res.writeHead(301, { Location: `${target}/r.git/info/refs?service=git-upload-pack` });
      res.end();
    } else if (path.startsWith("/hang.git/")) {
      // Headers and the start of an advertisement, then silence.
      res.writeHead(200, { "Content-Type": "application/x-git-upload-pack-advertisement" });
      res.write("001e# service=git-upload-pack\n0000", () => hung());
    } else if (path.startsWith("/cut.git/")) {
      res.writeHead(200, { "Content-Type": "application/x-git-upload-pack-advertisement" });
      // Cut once the start of the answer has left: the client sees a body that breaks off.
      res.write("001e# service=git-upload-pack\n0000003f", () => res.socket?.destroy());
    } else if (path.startsWith("/login.git/")) {
      res.writeHead(302, { Location: "/login?return_to=%2Frepo" });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    hanging,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

Deno.test("listRefs() maps 403, 5xx and dumb HTTP answers to one clear line each", async () => {
  const faults = await faultServer("http://127.0.0.1:1");
  try {
    const list = (name: string) =>
      rejection(
        createHttpTransport(new URL(`${faults.base}/${name}`), options({}, "/")).listRefs(),
      );
    const forbidden = await list("forbidden.git");
    assert.ok(forbidden instanceof AuthError);
    assert.equal(
      forbidden.message,
      `Access denied to '${faults.base}/forbidden.git' (HTTP 403): these credentials may not read this ` +
        `repository; the server said "Permission to team/repo denied to bob.".`,
    );
    assert.equal(
      (await list("broken.git")).message,
      `The Git server at '${faults.base}/broken.git' answered HTTP 502 Bad Gateway.`,
    );
    assert.equal(
      (await list("dumb.git")).message,
      `'${faults.base}/dumb.git' did not answer as a smart-HTTP Git server (dumb HTTP is not supported).`,
    );
  } finally {
    await faults.stop();
  }
});

Deno.test("openFetch() follows a discovery redirect and posts to the new location", async () => {
  await withServer({}, async ({ server, dir, commits }) => {
    const faults = await faultServer(server.baseUrl);
    try {
      const debug: string[] = [];
      const transport = createHttpTransport(
        new URL(`${faults.base}/moved.git`),
        options({}, dir, {}, debug),
      );
      const session = await transport.openFetch({ prefixes: ["refs/exps/"] });
      assert.equal(session.advertisement.refs.get("refs/exps/ab/cdef/exp-a"), commits.second);
      const pack = await session.fetchPack([commits.second], []);
      await session.close();
      assert.equal(new TextDecoder().decode(pack.subarray(0, 4)), "PACK");
      assert.ok(
        debug.some((line) =>
          line === `http: redirected to ${server.baseUrl}/r.git/info/refs?service=git-upload-pack`
        ),
      );
      const login = await rejection(
        createHttpTransport(new URL(`${faults.base}/login.git`), options({}, dir)).listRefs(),
      );
      assert.equal(
        login.message,
        `'${faults.base}/login.git' redirects to '${faults.base}/login?return_to=%2Frepo', ` +
          "which is not a Git repository URL.",
      );
    } finally {
      await faults.stop();
    }
  });
});

Deno.test("listRefs() rejects with the abort reason when the signal is already aborted", async () => {
  await withServer({}, async ({ server, dir, url }) => {
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    const error = await rejection(
      createHttpTransport(url, options({}, dir)).listRefs({ signal: controller.signal }),
    );
    assert.equal(error.message, "stop now");
    assert.equal(server.requests.length, 0);
  });
});

for (const variant of ["http v2", "http v0", "https v2 with a token"] as const) {
  const tls = variant.startsWith("https");
  const v0 = variant.includes("v0");
  const serve = async (asNobody: boolean) => {
    const token = "suite-token";
    const server = await startGitHttpServer({
      tls,
      v0,
      projectRoot: "/",
      asNobody,
      ...(tls ? { auth: { user: "x-access-token", password: token } } : {}),
    });
    const env = tls ? { SSL_CERT_FILE: server.caFile, DXP_GIT_TOKEN: token } : {};
    return {
      makeUrl: (path: string) => `${server.baseUrl}${path}`,
      options: options(env, "/"),
      teardown: () => server.stop(),
    };
  };
  transportSuite(`smart ${variant}`, async () => ({
    ...await serve(false),
    expectProtocol: v0 ? 0 : 2,
    unprivileged: () => serve(true),
  }));
}

Deno.test("listRefs() stops with the abort reason when the signal fires mid-answer", async () => {
  const faults = await faultServer("http://127.0.0.1:1");
  try {
    const controller = new AbortController();
    const url = new URL(`${faults.base}/hang.git`);
    const pending = createHttpTransport(url, options({}, "/")).listRefs({
      signal: controller.signal,
    });
    pending.catch(() => undefined);
    await faults.hanging; // the answer has begun and stalls: abort in the middle of it
    controller.abort(new Error("user pressed ctrl-c"));
    assert.equal((await rejection(pending)).message, "user pressed ctrl-c");
  } finally {
    await faults.stop();
  }
});

Deno.test("listRefs() reports a connection cut in the middle of the answer in one line", async () => {
  const faults = await faultServer("http://127.0.0.1:1");
  try {
    const url = new URL(`${faults.base}/cut.git`);
    const error = await rejection(createHttpTransport(url, options({}, "/")).listRefs());
    assert.ok(error instanceof GitRemoteError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, /closed the connection|broke while receiving/);
  } finally {
    await faults.stop();
  }
});
