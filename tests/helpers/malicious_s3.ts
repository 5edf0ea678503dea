/**
 * A small S3 (path-style: PUT, GET, HEAD, DELETE, ListObjectsV2) kept in
 * memory on loopback, honest until a test installs a `trap` for some
 * requests: then it answers whatever the trap writes — on the response, or
 * raw on the socket (wrong Content-Length, endless bodies). It checks no
 * signature: dxp signs on its own side, and what is tested here is what dxp
 * does with the answers. Every request's headers are recorded, so a test
 * can prove a secret never reached a host it should not.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface S3Request {
  readonly method: string;
  /** Bucket-relative key ("" for bucket requests). */
  readonly key: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
}

/** Answers a request itself (return true) or lets the honest server answer (false). */
export type Trap = (req: S3Request, res: http.ServerResponse) => boolean | Promise<boolean>;

export interface MaliciousS3 {
  /** `http://127.0.0.1:<port>`: the remote's endpointurl. */
  readonly endpoint: string;
  readonly bucket: string;
  /** Objects by key (bucket-relative). */
  readonly objects: Map<string, Uint8Array>;
  readonly requests: S3Request[];
  trap: Trap | undefined;
  stop(): Promise<void>;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A ListObjectsV2 page as S3 writes it. */
export function listPage(keys: readonly string[], next?: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>${
    next === undefined ? "false" : "true"
  }</IsTruncated>${
    keys.map((k) => `<Contents><Key>${escapeXml(k)}</Key><Size>1</Size></Contents>`).join("")
  }${
    next === undefined ? "" : `<NextContinuationToken>${escapeXml(next)}</NextContinuationToken>`
  }</ListBucketResult>`;
}

export async function startMaliciousS3(bucket = "bucket"): Promise<MaliciousS3> {
  const objects = new Map<string, Uint8Array>();
  const requests: S3Request[] = [];
  const state: { trap: Trap | undefined } = { trap: undefined };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = decodeURIComponent(url.pathname).replace(/^\//, "");
    const key = path === bucket
      ? ""
      : path.startsWith(`${bucket}/`)
      ? path.slice(bucket.length + 1)
      : path;
    const info: S3Request = {
      method: req.method ?? "GET",
      key,
      query: url.searchParams,
      headers: req.headers,
    };
    requests.push(info);
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", async () => {
      if (state.trap !== undefined && await state.trap(info, res)) return;
      const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
      honest(info, body, res);
    });
  });
  const honest = (req: S3Request, body: Uint8Array, res: http.ServerResponse) => {
    if (req.key === "" && req.method === "GET") {
      const prefix = req.query.get("prefix") ?? "";
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(listPage(keys));
      return;
    }
    const stored = objects.get(req.key);
    switch (req.method) {
      case "PUT":
      case "POST": // DVC's HTTP remote uploads with POST
        objects.set(req.key, body);
        res.writeHead(200, { etag: '"e"' });
        res.end();
        return;
      case "DELETE":
        objects.delete(req.key);
        res.writeHead(204);
        res.end();
        return;
      case "HEAD":
      case "GET":
        if (stored === undefined) {
          res.writeHead(404, { "content-type": "application/xml" });
          res.end(req.method === "HEAD" ? undefined : "<Error><Code>NoSuchKey</Code></Error>");
          return;
        }
        res.writeHead(200, { "content-length": String(stored.length) });
        res.end(req.method === "HEAD" ? undefined : stored);
        return;
    }
    res.writeHead(400);
    res.end();
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    objects,
    requests,
    get trap() {
      return state.trap;
    },
    set trap(value) {
      state.trap = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A plain HTTP server that records what reaches it (the "other host" of a redirect). */
export async function startRecorder(): Promise<{
  url: string;
  seen: http.IncomingHttpHeaders[];
  stop(): Promise<void>;
}> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ ...req.headers, ":path": req.url ?? "" });
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end("not your object");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
