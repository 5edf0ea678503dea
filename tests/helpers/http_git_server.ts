/**
 * A real smart-HTTP Git server for tests: a node:http(s) server inside the
 * test process that hands every request to the real `git http-backend` CGI,
 * so our client talks to exactly what git.kernel.org or a GitLab nginx front
 * end would run. Bare repositories live under `root`; `<baseUrl>/<name>.git`
 * serves `<root>/<name>.git`.
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { Buffer } from "node:buffer";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { scratch } from "./tmp.ts";
import { AS_NOBODY } from "./unprivileged.ts";

const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

export interface GitHttpServerOptions {
  /** Serve over https with a throw-away CA (returned as `caFile`). */
  tls?: boolean;
  /** Require HTTP Basic credentials (401 + `WWW-Authenticate: Basic` otherwise). */
  auth?: { user: string; password: string };
  /**
   * GIT_PROJECT_ROOT to serve (default: a fresh folder, `root`). With "/",
   * `<baseUrl><absolute path>` serves any repository on this machine.
   */
  projectRoot?: string;
  /** Ignore the client's `Git-Protocol` header, so the server speaks protocol v0. */
  v0?: boolean;
  /**
   * Run `git http-backend` as nobody (through setpriv), so the server side is
   * bound by file modes even when the tests run as root.
   */
  asNobody?: boolean;
}

export interface GitHttpServer {
  /** `http(s)://127.0.0.1:<port>` (no trailing slash). */
  baseUrl: string;
  /** GIT_PROJECT_ROOT: bare repositories created here are served as `<baseUrl>/<name>`. */
  root: string;
  /** PEM file of the CA that signed the server certificate (tls only). */
  caFile?: string;
  /** Every request the server saw (method, path and query, Authorization present?). */
  requests: { method: string; url: string; authorized: boolean; gitProtocol?: string }[];
  /** Creates an empty bare repository `<root>/<name>` and returns its path. */
  createBareRepo(name: string): string;
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startGitHttpServer(
  options: GitHttpServerOptions = {},
): Promise<GitHttpServer> {
  const tmp = await scratch("dxp-http-git-");
  const root = options.projectRoot ?? join(tmp.dir, "repos");
  mkdirSync(root, { recursive: true });
  const requests: GitHttpServer["requests"] = [];

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handle(req, res, root, options, requests).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(String(error));
    });
  };

  let caFile: string | undefined;
  let server: http.Server;
  if (options.tls) {
    const pki = makePki(tmp.dir);
    caFile = pki.caFile;
    server = https.createServer(
      { key: readFileSync(pki.keyFile), cert: readFileSync(pki.certFile) },
      handler,
    );
  } else {
    server = http.createServer(handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;

  const result: GitHttpServer = {
    baseUrl,
    root,
    requests,
    createBareRepo(name: string): string {
      const path = join(root, name);
      execFileSync("git", ["init", "--quiet", "--bare", path], { env: cleanGitEnv() });
      return path;
    },
    async stop() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tmp.cleanup();
    },
  };
  if (caFile !== undefined) result.caFile = caFile;
  return result;
}

/** Environment for the git processes the harness runs: no user or system config. */
function cleanGitEnv(): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    HOME: "/nonexistent",
  };
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  root: string,
  options: GitHttpServerOptions,
  requests: GitHttpServer["requests"],
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  const authorization = req.headers["authorization"];
  const user = options.auth ? checkBasic(authorization, options.auth) : undefined;
  const entry: GitHttpServer["requests"][number] = {
    method: req.method ?? "",
    url: `${url.pathname}${url.search}`,
    authorized: user !== undefined,
  };
  const protocolHeader = req.headers["git-protocol"];
  if (typeof protocolHeader === "string") entry.gitProtocol = protocolHeader;
  requests.push(entry);

  const body = await readAll(req);
  if (options.auth && user === undefined) {
    res.writeHead(401, {
      "WWW-Authenticate": 'Basic realm="dxp test"',
      "Content-Type": "text/plain",
    });
    res.end("Unauthorized\n");
    return;
  }

  const env: Record<string, string> = {
    ...cleanGitEnv(),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    // Anonymous pushes are refused by default; the tests push without auth too.
    GIT_CONFIG_PARAMETERS: "'http.receivepack'='true'",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    CONTENT_LENGTH: String(body.length),
    REMOTE_ADDR: "127.0.0.1",
    SERVER_PROTOCOL: "HTTP/1.1",
  };
  if (typeof protocolHeader === "string" && !options.v0) env["HTTP_GIT_PROTOCOL"] = protocolHeader;
  const encoding = req.headers["content-encoding"];
  if (typeof encoding === "string") env["HTTP_CONTENT_ENCODING"] = encoding;
  if (user !== undefined) env["REMOTE_USER"] = user;

  const output = await runCgi(env, body, options.asNobody ?? false);
  const { status, headers, rest } = parseCgi(output);
  res.writeHead(status, headers);
  res.end(rest);
}

function checkBasic(
  header: string | undefined,
  expected: { user: string; password: string },
): string | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  return decoded === `${expected.user}:${expected.password}` ? expected.user : undefined;
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

function runCgi(env: Record<string, string>, body: Buffer, asNobody: boolean): Promise<Buffer> {
  const [program, ...args] = asNobody ? [...AS_NOBODY, HTTP_BACKEND] : [HTTP_BACKEND];
  return new Promise((resolve, reject) => {
    const child = spawn(program!, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const output = Buffer.concat(out);
      if (code !== 0 && output.length === 0) {
        reject(new Error(`git http-backend exited ${code}: ${Buffer.concat(err)}`));
      } else {
        resolve(output);
      }
    });
    child.stdin.on("error", () => {/* the backend may stop reading early */});
    child.stdin.end(body);
  });
}

/** Splits CGI output into the `Status:` line, the headers and the body. */
function parseCgi(output: Buffer): {
  status: number;
  headers: Record<string, string>;
  rest: Buffer;
} {
  let end = output.indexOf("\r\n\r\n");
  let skip = 4;
  const lf = output.indexOf("\n\n");
  if (end < 0 || (lf >= 0 && lf < end)) {
    end = lf;
    skip = 2;
  }
  if (end < 0) return { status: 502, headers: {}, rest: output };
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of output.subarray(0, end).toString("latin1").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = parseInt(value, 10);
    else headers[name] = value;
  }
  return { status, headers, rest: output.subarray(end + skip) };
}

/** A throw-away CA and a server certificate for 127.0.0.1 / localhost. */
function makePki(dir: string): { caFile: string; keyFile: string; certFile: string } {
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.pem");
  const keyFile = join(dir, "server.key");
  const csr = join(dir, "server.csr");
  const certFile = join(dir, "server.pem");
  const ext = join(dir, "server.ext");
  const openssl = (args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  // deno-fmt-ignore
  openssl([
    "req", "-x509", ...ecKey, "-keyout", caKey, "-out", caFile, "-days", "2",
    "-subj", "/CN=dxp test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  openssl(["req", ...ecKey, "-keyout", keyFile, "-out", csr, "-subj", "/CN=127.0.0.1"]);
  writeFileSync(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  // deno-fmt-ignore
  openssl([
    "x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial",
    "-out", certFile, "-days", "2", "-extfile", ext,
  ]);
  return { caFile, keyFile, certFile };
}

export interface HttpProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** First line of every proxied connection (`CONNECT host:port HTTP/1.1`, `GET http://… HTTP/1.1`). */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * A minimal forward proxy: CONNECT tunnels, and absolute-URI requests piped
 * to their host (the git server above accepts absolute request targets).
 * With `auth`, a missing or wrong Proxy-Authorization gets 407.
 */
export async function startHttpProxy(
  options: { auth?: { user: string; password: string } } = {},
): Promise<HttpProxy> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      const text = head.subarray(0, end).toString("latin1");
      const firstLine = text.split("\r\n")[0] ?? "";
      requests.push(firstLine);
      if (options.auth) {
        const expected = Buffer.from(`${options.auth.user}:${options.auth.password}`).toString(
          "base64",
        );
        if (!new RegExp(`^Proxy-Authorization: Basic ${expected}$`, "im").test(text)) {
          client.end("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
          return;
        }
      }
      const [method, target] = firstLine.split(" ");
      const connect = method === "CONNECT";
      const dest = connect ? new URL(`http://${target}`) : new URL(target ?? "");
      const upstream = net.connect(Number(dest.port || 80), dest.hostname, () => {
        if (connect) client.write("HTTP/1.1 200 Connection established\r\n\r\n");
        else upstream.write(head);
        const rest = connect ? head.subarray(end + 4) : Buffer.alloc(0);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
