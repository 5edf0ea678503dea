/**
 * dist/dxp against S3 and HTTP remotes that lie (tests/helpers/malicious_s3.ts):
 * redirects to other hosts or to file://, a gigabyte error body, a wrong
 * Content-Length, bytes that do not match their md5, listings whose
 * continuation never ends, and listed keys with `../`. Whatever they send,
 * nothing wrong enters the cache, nothing is written outside it, no secret
 * goes to another host, and dxp ends with a clear error.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type http from "node:http";
import { join } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import {
  listPage,
  type MaliciousS3,
  startMaliciousS3,
  startRecorder,
} from "./helpers/malicious_s3.ts";
import { DXP_BIN, runAsync } from "./helpers/tmp.ts";

const SESSION_TOKEN = "CANARY-session-token-5b1f0c";
const SECRET_KEY = "CANARY-secret-key-8d2e44";
const HTTP_PASSWORD = "CANARY-http-password-77aa";

interface Setup {
  fx: FixtureCopy;
  s3: MaliciousS3;
  clone: string;
  env: Record<string, string>;
  /** The object keys the clone fetches (bucket-relative). */
  keys: string[];
  dxp(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

function remoteSection(name: string, s3: MaliciousS3): string {
  return `['remote "${name}"']\n    url = s3://${s3.bucket}/dvc\n    endpointurl = ${s3.endpoint}\n`;
}

/** The basic fixture pushed to an honest malicious-S3, and a fresh clone that fetches from it. */
async function setup(): Promise<Setup> {
  const fx = await fixtureCopy("basic");
  const s3 = await startMaliciousS3();
  const env = {
    ...fx.env,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
  };
  const dxp = (args: string[], cwd = clone) => runAsync(DXP_BIN, args, { cwd, env });
  writeFileSync(join(fx.repo, ".dvc", "config.local"), remoteSection("evil", s3));
  const clone = fx.freshClone();
  writeFileSync(join(clone, ".dvc", "config.local"), remoteSection("evil", s3));
  const pushed = await dxp(["push", "-r", "evil"], fx.repo);
  assert.equal(pushed.code, 0, pushed.stderr);
  const keys = [...s3.objects.keys()].sort();
  assert.ok(keys.length > 10);
  return {
    fx,
    s3,
    clone,
    env,
    keys,
    dxp,
    async cleanup() {
      await s3.stop();
      await fx.cleanup();
    },
  };
}

function cacheFiles(clone: string): string[] {
  return listFiles(join(clone, ".dvc", "cache")).filter((f) => f.startsWith("files/"));
}

/** Every cache file's bytes hash to its name; none is a temp file. */
function assertCacheSound(clone: string): void {
  for (const rel of listFiles(join(clone, ".dvc", "cache"))) {
    assert.ok(!rel.endsWith(".tmp"), `temp file ${rel} in the cache`);
    const m = /^files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/.exec(rel);
    if (m === null) continue;
    const md5 = createHash("md5").update(readFileSync(join(clone, ".dvc", "cache", rel))).digest(
      "hex",
    );
    assert.equal(md5, m[1]! + m[2]!, `${rel} holds other bytes`);
  }
}

function assertNoSecret(...texts: string[]): void {
  for (const text of texts) {
    for (const secret of [SESSION_TOKEN, SECRET_KEY, HTTP_PASSWORD]) {
      assert.ok(!text.includes(secret), `a secret was printed: ${text}`);
    }
  }
}

/** The file key of an object (not a .dir manifest) the clone will fetch. */
function oneFileKey(s: Setup): string {
  return s.keys.find((k) => !k.endsWith(".dir"))!;
}

Deno.test("malicious s3: the honest server serves a fetch (the fake works)", async () => {
  const s = await setup();
  try {
    const r = await s.dxp(["fetch", "-r", "evil"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(cacheFiles(s.clone).map((f) => `dvc/${f}`).sort(), s.keys);
    assertCacheSound(s.clone);
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious s3: redirects to another host or to file:// are not followed and carry no secret", async () => {
  const s = await setup();
  const other = await startRecorder();
  try {
    const target = oneFileKey(s);
    for (const location of [`${other.url}/steal`, "file:///etc/passwd"]) {
      s.s3.trap = (req, res) => {
        if (req.method !== "GET" || req.key !== target) return false;
        res.writeHead(307, { location });
        res.end();
        return true;
      };
      const r = await s.dxp(["fetch", "-r", "evil"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /HTTP 307/);
      assert.ok(!cacheFiles(s.clone).includes(target.slice("dvc/".length)), "not cached");
      assertCacheSound(s.clone);
      assertNoSecret(r.stdout, r.stderr);
    }
    assert.equal(other.seen.length, 0, "nothing reached the other host");
  } finally {
    await other.stop();
    await s.cleanup();
  }
});

Deno.test("malicious s3: a 1 GB error body is not read (a few kB of it at most)", async () => {
  const s = await setup();
  try {
    const target = oneFileKey(s);
    let written = 0;
    s.s3.trap = (req, res) => {
      if (req.method !== "GET" || req.key !== target) return false;
      res.writeHead(500, { "content-type": "application/xml", "content-length": String(2 ** 30) });
      res.write("<Error><Code>InternalError</Code><Message>");
      const chunk = new Uint8Array(1 << 16).fill(0x78);
      const pump = () => {
        while (written < 2 ** 30) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => res.destroy());
      pump();
      return true;
    };
    const r = await s.dxp(["fetch", "-r", "evil"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 500 InternalError/);
    assert.ok(written < 64 * 2 ** 20, `the server got to write ${written} bytes`);
    assertCacheSound(s.clone);
  } finally {
    await s.cleanup();
  }
});

/** Answers `res` raw on its socket: a status line, headers and exactly `body`. */
function raw(res: http.ServerResponse, head: string, body: Uint8Array): void {
  const socket = res.socket!;
  socket.write(`HTTP/1.1 ${head}\r\nconnection: close\r\n\r\n`);
  socket.end(body);
}

Deno.test("malicious s3: a wrong Content-Length or bytes that are not the object's are refused, nothing cached", async () => {
  const s = await setup();
  try {
    const target = oneFileKey(s);
    const bytes = s.s3.objects.get(target)!;
    const variants: [string, (res: http.ServerResponse) => void, RegExp][] = [
      [
        "longer than the body",
        (res) => raw(res, `200 OK\r\ncontent-length: ${bytes.length + 100}`, bytes),
        /cut short|connection|closed|retry later/i,
      ],
      [
        "shorter than the body",
        (res) => raw(res, `200 OK\r\ncontent-length: ${Math.max(0, bytes.length - 3)}`, bytes),
        /hashes to '[0-9a-f]{32}', not/,
      ],
      [
        "other bytes",
        (res) => {
          res.writeHead(200, { "content-length": String(bytes.length) });
          res.end(bytes.map((b) => b ^ 1));
        },
        /hashes to '[0-9a-f]{32}', not/,
      ],
    ];
    for (const [what, answer, message] of variants) {
      s.s3.trap = (req, res) => {
        if (req.method !== "GET" || req.key !== target) return false;
        answer(res);
        return true;
      };
      const r = await s.dxp(["fetch", "-r", "evil"]);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.ok(!cacheFiles(s.clone).includes(target.slice("dvc/".length)), `${what}: cached`);
      assertCacheSound(s.clone);
    }
    s.s3.trap = undefined;
    const honest = await s.dxp(["fetch", "-r", "evil"]);
    assert.equal(honest.code, 0, honest.stderr);
    assertCacheSound(s.clone);
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious s3: a listing whose continuation never ends is stopped with a clear error", async () => {
  const s = await setup();
  try {
    let pages = 0;
    for (const next of [(_n: number) => "same-token", (n: number) => `token-${n}`]) {
      pages = 0;
      s.s3.trap = (req, res) => {
        if (req.method !== "GET" || req.key !== "") return false;
        pages++;
        res.writeHead(200, { "content-type": "application/xml" });
        // The repeating token comes with keys; the fresh tokens with empty pages.
        res.end(listPage(next(0) === "same-token" ? ["dvc/runs/aa/x"] : [], next(pages)));
        return true;
      };
      const r = await s.dxp(["exp", "pull", "origin", "exp-b", "-r", "evil", "--run-cache"]);
      assert.equal(r.code, 255, r.stderr);
      assert.match(r.stderr, /listing never ends/);
      assert.ok(pages <= 1002, `${pages} pages`);
    }
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious s3: listed run-cache keys with '../' write nothing outside the cache", async () => {
  const s = await setup();
  try {
    const hex = "a".repeat(64);
    s.s3.objects.set(`dvc/runs/aa/${hex}/${hex}`, new TextEncoder().encode("cmd: x\n"));
    const evil = [
      "dvc/runs/../../../escaped",
      `dvc/runs/aa/../../../${hex}`,
      `dvc/runs/../files/md5/aa/${"b".repeat(30)}`,
      "dvc/runs/aa/%2e%2e/x",
    ];
    for (const key of evil) s.s3.objects.set(key, new TextEncoder().encode("escaped\n"));
    const r = await s.dxp(["exp", "pull", "origin", "exp-b", "-r", "evil", "--run-cache"]);
    // 1: some of exp-b's data was never pushed to this remote; the run cache came first.
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /ERROR/);
    assert.equal(existsSync(join(s.clone, "escaped")), false);
    assert.equal(existsSync(join(s.fx.root, "escaped")), false);
    assert.deepEqual(listFiles(join(s.clone, ".dvc", "cache", "runs")), [`aa/${hex}/${hex}`]);
    assertCacheSound(s.clone);
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious http remote: a redirect to another host loses the credentials; file:// is refused", async () => {
  const s = await setup();
  const other = await startRecorder();
  try {
    // The same objects, now served as a DVC HTTP remote with basic auth and a custom header.
    writeFileSync(
      join(s.clone, ".dvc", "config.local"),
      `['remote "web"']\n    url = ${s.s3.endpoint}/${s.s3.bucket}/dvc\n    auth = custom\n` +
        `    custom_auth_header = X-Token\n    password = ${HTTP_PASSWORD}\n`,
    );
    const target = oneFileKey(s);
    for (const location of [`${other.url}/elsewhere`, "file:///etc/passwd"]) {
      s.s3.trap = (req, res) => {
        if (req.method !== "GET" || req.key !== target) return false;
        res.writeHead(302, { location });
        res.end();
        return true;
      };
      const r = await s.dxp(["fetch", "-r", "web"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        location.startsWith("file:")
          ? /redirects to 'file:\/\/\/etc\/passwd', which is not an http\(s\) URL/
          : /hashes to '[0-9a-f]{32}', not/,
      );
      assert.ok(!cacheFiles(s.clone).includes(target.slice("dvc/".length)));
      assertCacheSound(s.clone);
      assertNoSecret(r.stdout, r.stderr);
    }
    assert.equal(other.seen.length, 1, "the redirect to the other host was followed once");
    assertNoSecret(JSON.stringify(other.seen));
    // The remote's own server did get the credentials.
    assert.ok(s.s3.requests.some((q) => q.headers["x-token"] === HTTP_PASSWORD));
  } finally {
    await other.stop();
    await s.cleanup();
  }
});
