/**
 * A loopback HTTP proxy in front of a real S3 server that injects faults
 * into chosen requests: an error status with an S3 error body (and
 * Retry-After), a connection dropped before any answer, or a response body
 * cut in half. Everything else is forwarded byte for byte with the original
 * Host header, so SigV4 signatures made for the proxy's address still verify.
 * It also records what each request looked like on the wire (method, path,
 * Content-Length, Transfer-Encoding) so tests can prove no body went chunked.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "../store_suite.ts";

export type S3Fault =
  | { status: number; code?: string; retryAfter?: string }
  | "reset"
  | "truncate"
  | "corrupt";

export interface SeenRequest {
  method: string;
  url: string;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  /** All request headers (lower-case names). */
  headers: http.IncomingHttpHeaders;
  fault?: S3Fault;
}

export interface S3FaultProxy extends FaultInjector {
  /** `http://127.0.0.1:<port>`: use as the remote's endpointurl. */
  endpoint: string;
  /** Every request seen, in arrival order. */
  requests: SeenRequest[];
  failNext(fault: S3Fault, count?: number): void;
  /** Like failNext, for the next requests that `match` (others pass through). */
  failMatching(
    match: (method: string, url: string) => boolean,
    fault: S3Fault,
    count?: number,
  ): void;
  stop(): Promise<void>;
}

interface Pending {
  match: (method: string, url: string) => boolean;
  fault: S3Fault;
  left: number;
}

const DEFAULT_CODES: Record<number, string> = {
  500: "InternalError",
  503: "SlowDown",
  403: "AccessDenied",
  404: "NoSuchKey",
  400: "InvalidRequest",
};

/** Starts the proxy on 127.0.0.1 and a free port, forwarding to `upstream`. */
export async function startS3FaultProxy(upstream: string): Promise<S3FaultProxy> {
  const target = new URL(upstream);
  const requests: SeenRequest[] = [];
  let pending: Pending[] = [];
  const agent = new http.Agent({ keepAlive: false });

  const takeFault = (method: string, url: string): S3Fault | undefined => {
    const entry = pending.find((p) => p.left > 0 && p.match(method, url));
    if (!entry) return undefined;
    entry.left--;
    pending = pending.filter((p) => p.left > 0);
    return entry.fault;
  };

  const server = http.createServer((req, res) => {
    let cut = false;
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const fault = takeFault(method, url);
    requests.push({
      method,
      url,
      contentLength: req.headers["content-length"],
      transferEncoding: req.headers["transfer-encoding"],
      headers: req.headers,
      ...(fault === undefined ? {} : { fault }),
    });
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    if (typeof fault === "object") {
      req.resume();
      req.on("end", () => {
        const code = fault.code ?? DEFAULT_CODES[fault.status] ?? "InternalError";
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
          `<Message>injected</Message></Error>`;
        const headers: Record<string, string> = { "content-type": "application/xml" };
        if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
        res.writeHead(fault.status, headers);
        res.end(method === "HEAD" ? undefined : body);
      });
      return;
    }
    let flipped = false;
    const upstreamReq = http.request({
      host: target.hostname,
      port: target.port,
      method,
      path: url,
      headers: req.headers,
      agent,
    }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      if (fault !== "truncate" || cut) {
        upstreamRes.pipe(res);
        return;
      }
      const declared = Number(upstreamRes.headers["content-length"] ?? "0");
      let sent = 0;
      upstreamRes.on("data", (chunk: Uint8Array) => {
        if (cut) return;
        const room = Math.floor(declared / 2) - sent;
        if (room > 0) {
          const piece = chunk.subarray(0, Math.min(room, chunk.length));
          sent += piece.length;
          res.write(piece);
        }
        if (sent >= Math.floor(declared / 2)) {
          cut = true;
          upstreamRes.destroy();
          // flush what was written, then drop the connection without finishing the body
          res.socket?.end(() => res.socket?.destroy());
        }
      });
    });
    upstreamReq.on("error", () => res.socket?.destroy());
    if (fault !== "corrupt") {
      req.pipe(upstreamReq);
      return;
    }
    // flip one byte of the request body: the server must notice through Content-MD5
    req.on("data", (chunk: Uint8Array) => {
      const copy = new Uint8Array(chunk);
      if (!flipped && copy.length > 0) {
        copy[0] = copy[0]! ^ 0xff;
        flipped = true;
      }
      upstreamReq.write(copy);
    });
    req.on("end", () => upstreamReq.end());
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    failNext(fault, count = 1) {
      pending.push({ match: () => true, fault, left: count });
    },
    failMatching(match, fault, count = 1) {
      pending.push({ match, fault, left: count });
    },
    clear() {
      pending = [];
    },
    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      });
    },
  };
}
