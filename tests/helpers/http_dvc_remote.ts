/**
 * A DVC HTTP(S) remote for e2e tests: serves a folder with GET/HEAD at
 * `<url>/<key>` and takes uploads with POST (temp file, renamed when the body
 * is complete), as DVC's HTTP remote expects. It records every request and
 * the most requests of one method ever in flight at once; with `holdUntil`,
 * a GET/POST is answered only once that many are in flight (or after
 * `holdMs`), so a client that runs N transfers in parallel shows exactly N.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdir, readFile, rename, stat, unlink } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { scratch } from "./tmp.ts";

export interface HttpDvcRemote {
  /** `http(s)://127.0.0.1:<port>/store` */
  readonly url: string;
  /** PEM of the self-signed certificate (https only), for the remote's `ssl_verify`. */
  readonly caFile?: string;
  readonly requests: { method: string; path: string }[];
  /** Most requests of each method in flight at the same moment. */
  readonly maxInFlight: Map<string, number>;
  /** Hold GET/POST answers until this many of that method are in flight. */
  holdUntil: number;
  stop(): Promise<void>;
}

/** Starts a remote serving (and writing uploads into) `root`. */
export async function startHttpDvcRemote(
  root: string,
  options: { tls?: boolean; holdMs?: number } = {},
): Promise<HttpDvcRemote> {
  const holdMs = options.holdMs ?? 300;
  const requests: HttpDvcRemote["requests"] = [];
  const maxInFlight = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const waiting = new Map<string, (() => void)[]>();
  let uploads = 0;
  const tmp = await scratch("dxp-http-dvc-");
  const remote = { holdUntil: 1 } as { holdUntil: number };

  const enter = (method: string) => {
    const now = (inFlight.get(method) ?? 0) + 1;
    inFlight.set(method, now);
    maxInFlight.set(method, Math.max(maxInFlight.get(method) ?? 0, now));
    return () => inFlight.set(method, (inFlight.get(method) ?? 1) - 1);
  };
  const hold = (method: string): Promise<void> => {
    if (method !== "GET" && method !== "POST") return Promise.resolve();
    if ((inFlight.get(method) ?? 0) >= remote.holdUntil) {
      for (const release of waiting.get(method)?.splice(0) ?? []) release();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const list = waiting.get(method) ?? [];
      list.push(resolve);
      waiting.set(method, list);
      setTimeout(resolve, holdMs);
    });
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({ method, path: url.pathname });
    const leave = enter(method);
    res.on("close", leave);
    const relative = decodeURIComponent(url.pathname.replace(/^\/store\//, ""));
    if (!url.pathname.startsWith("/store/") || relative.split("/").includes("..")) {
      res.writeHead(404);
      return void res.end();
    }
    const file = join(root, relative);
    void hold(method).then(async () => {
      if (method === "POST") {
        const temp = join(tmp.dir, `${++uploads}`);
        const out = createWriteStream(temp);
        req.pipe(out);
        out.on("finish", async () => {
          await mkdir(dirname(file), { recursive: true });
          await rename(temp, file);
          res.writeHead(201);
          res.end();
        });
        req.on("aborted", () => void unlink(temp).catch(() => {}));
        return;
      }
      const info = await stat(file).catch(() => undefined);
      if (info === undefined || !info.isFile()) {
        res.writeHead(404);
        return void res.end();
      }
      res.writeHead(200, { "content-length": String(info.size) });
      if (method === "HEAD") return void res.end();
      // Whole bodies (test objects are small): a file piped into a TLS response
      // is never ended under Deno's node:https, and the client waits for it.
      res.end(await readFile(file));
    });
  };

  let caFile: string | undefined;
  let server: http.Server;
  if (options.tls) {
    const pki = selfSignedCert(tmp.dir);
    caFile = pki.certFile;
    server = https.createServer(
      { key: readFileSync(pki.keyFile), cert: readFileSync(pki.certFile) },
      handler,
    );
  } else {
    server = http.createServer(handler);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(remote, {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}/store`,
    ...(caFile !== undefined ? { caFile } : {}),
    requests,
    maxInFlight,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tmp.cleanup();
    },
  });
}

/** A self-signed certificate for 127.0.0.1 that is its own CA. */
function selfSignedCert(dir: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, "server.key");
  const certFile = join(dir, "server.pem");
  // deno-fmt-ignore
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-addext", "basicConstraints=critical,CA:TRUE",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  return { keyFile, certFile };
}
