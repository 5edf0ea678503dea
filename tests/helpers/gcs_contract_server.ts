/**
 * A Google Cloud Storage JSON API server for contract tests, written from
 * Google's API documentation (objects: get, list, insert with
 * uploadType=multipart and uploadType=resumable, media download, delete;
 * error bodies `{"error": {"code", "message", "errors": [{"reason"}]}}`) and
 * from spec/cloud-remotes.md §3 — not from dxp's client. Behaviour that
 * clients must cope with is modelled: a resumable session persists only
 * whole 256 KiB units of a non-final chunk and says so with `308` + `Range`;
 * `md5Hash` in the metadata is checked when the object is finalised; bearer
 * tokens come from the OAuth endpoint mounted at `/token` (GoogleOAuth) and
 * stop working when revoked (401 authError); the GCE metadata server's
 * token path is served too. Faults are injected per request: an error
 * status with a reason and Retry-After, a connection reset, a body cut short,
 * or a resumable chunk dropped after part of its bytes arrived.
 */
import { Buffer } from "node:buffer";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "../store_suite.ts";
import { GoogleOAuth } from "./google_oauth.ts";

export interface GcsObject {
  bytes: Uint8Array;
  md5: string;
  generation: number;
}

export type GcsFault =
  | { status: number; reason?: string; retryAfter?: string }
  | "reset"
  | "truncate"
  /**
   * For a resumable chunk: take this many of its bytes (keeping whole 256 KiB
   * units, as GCS does), then drop the connection — or answer `status`.
   */
  | { dropAfter: number; status?: number };

export interface SeenGcsRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyLength: number;
  fault?: GcsFault;
}

interface Session {
  bucket: string;
  name: string;
  size: number | undefined;
  md5Hash: string | undefined;
  received: Buffer[];
  persisted: number;
  done: boolean;
}

export interface GcsContractServer extends FaultInjector {
  /** `http://127.0.0.1:<port>`: the `endpointurl` / STORAGE_EMULATOR_HOST. */
  url: string;
  /** `127.0.0.1:<port>`: GCE_METADATA_HOST. */
  host: string;
  oauth: GoogleOAuth;
  buckets: Map<string, Map<string, GcsObject>>;
  requests: SeenGcsRequest[];
  /** Serve the metadata server's token (as on a GCE VM). */
  metadata: boolean;
  addBucket(name: string, options?: { public?: boolean }): void;
  /** Names under `prefix` in `bucket`, sorted (read from the server's memory, not the API). */
  names(bucket: string, prefix?: string): string[];
  /** Open resumable sessions that were not finished or cancelled. */
  openSessions(): number;
  /** After `count` more storage API requests, every token issued so far stops working (once). */
  revokeTokensAfter(count: number): void;
  failNext(fault: GcsFault, count?: number): void;
  /** Like failNext, for the next requests that `match` (`headers`: the request's, lower-case). */
  failMatching(
    match: (method: string, url: string, headers: http.IncomingHttpHeaders) => boolean,
    fault: GcsFault,
    count?: number,
  ): void;
  stop(): Promise<void>;
}

const QUANTUM = 256 * 1024;

export async function startGcsContractServer(): Promise<GcsContractServer> {
  const oauth = new GoogleOAuth();
  const buckets = new Map<string, Map<string, GcsObject>>();
  const publicBuckets = new Set<string>();
  const sessions = new Map<string, Session>();
  const requests: SeenGcsRequest[] = [];
  let pending: {
    match: (m: string, u: string, h: http.IncomingHttpHeaders) => boolean;
    fault: GcsFault;
    left: number;
  }[] = [];
  let generation = 1;
  let base = "";
  let revokeCountdown: number | undefined;

  const takeFault = (method: string, url: string, headers: http.IncomingHttpHeaders) => {
    const entry = pending.find((p) => p.left > 0 && p.match(method, url, headers));
    if (!entry) return undefined;
    entry.left--;
    pending = pending.filter((p) => p.left > 0);
    return entry.fault;
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", base);
    const fault = takeFault(method, req.url ?? "/", req.headers);
    const seen: SeenGcsRequest = {
      method,
      url: req.url ?? "/",
      headers: req.headers,
      bodyLength: 0,
      ...(fault === undefined ? {} : { fault }),
    };
    requests.push(seen);
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let taken = 0;
    req.on("data", (chunk: Buffer) => {
      if (typeof fault === "object" && "dropAfter" in fault) {
        const room = fault.dropAfter - taken;
        if (room <= 0) return;
        const piece = chunk.subarray(0, Math.min(room, chunk.length));
        chunks.push(piece);
        taken += piece.length;
        if (taken >= fault.dropAfter) {
          // What arrived is kept, as GCS keeps the bytes it received; then the line dies.
          receiveDropped(url, req.headers, Buffer.concat(chunks));
          if (fault.status === undefined) req.socket.destroy();
          else sendError(res, fault.status, defaultReason(fault.status), "injected");
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (typeof fault === "object" && "dropAfter" in fault) {
        if (fault.status === undefined && !req.socket.destroyed) req.socket.destroy();
        return;
      }
      const body = Buffer.concat(chunks);
      seen.bodyLength = body.length;
      if (typeof fault === "object" && "status" in fault && fault.status !== undefined) {
        return sendError(
          res,
          fault.status,
          fault.reason ?? defaultReason(fault.status),
          "injected",
          {
            ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}),
          },
        );
      }
      try {
        route(method, url, req.headers, body, res, fault === "truncate");
      } catch (error) {
        sendError(res, 500, "backendError", String(error));
      }
    });
  });

  function receiveDropped(url: URL, headers: http.IncomingHttpHeaders, body: Buffer) {
    const session = sessions.get(url.searchParams.get("upload_id") ?? "");
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(headers["content-range"] ?? ""));
    if (session === undefined || range === null) return;
    const start = Number(range[1]);
    if (start !== session.persisted) return;
    const keep = Math.floor(body.length / QUANTUM) * QUANTUM;
    if (keep > 0) {
      session.received.push(body.subarray(0, keep));
      session.persisted += keep;
    }
  }

  function route(
    method: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    res: http.ServerResponse,
    truncate: boolean,
  ) {
    const path = url.pathname;
    if (path.includes("/storage/v1/") && revokeCountdown !== undefined && --revokeCountdown < 0) {
      revokeCountdown = undefined;
      oauth.revokeAll();
    }
    if (path === "/token" && method === "POST") {
      const answer = oauth.grant(Object.fromEntries(new URLSearchParams(body.toString("utf8"))));
      return sendJson(res, answer.status, answer.body);
    }
    if (path === "/computeMetadata/v1/instance/service-accounts/default/token") {
      if (!api.metadata) return sendJson(res, 404, {});
      if (headers["metadata-flavor"] !== "Google") return sendJson(res, 403, {});
      const token = oauth.issue(
        "metadata-default",
        "https://www.googleapis.com/auth/cloud-platform",
      );
      res.setHeader("metadata-flavor", "Google");
      return sendJson(res, 200, {
        access_token: token,
        expires_in: oauth.expiresIn,
        token_type: "Bearer",
      });
    }
    // Resumable session URIs.
    if (path.startsWith("/upload/storage/v1/b/") && url.searchParams.has("upload_id")) {
      const id = url.searchParams.get("upload_id")!;
      const session = sessions.get(id);
      if (session === undefined) return sendError(res, 404, "notFound", "No such upload.");
      if (!authorised(headers, session.bucket, "write")) return unauthorised(res, headers);
      if (method === "DELETE") {
        sessions.delete(id);
        res.writeHead(499);
        return res.end();
      }
      if (method !== "PUT" && method !== "POST") return sendError(res, 405, "invalid", method);
      return resumeSession(id, session, headers, body, res);
    }
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (upload && method === "POST") {
      const bucket = decodeURIComponent(upload[1]!);
      if (!buckets.has(bucket)) return noBucket(res);
      if (!authorised(headers, bucket, "write")) return unauthorised(res, headers);
      const type = url.searchParams.get("uploadType");
      if (type === "multipart") return multipart(bucket, url, headers, body, res);
      if (type === "resumable") {
        const metadata = body.length > 0 ? JSON.parse(body.toString("utf8")) : {};
        const name = metadata.name ?? url.searchParams.get("name");
        if (typeof name !== "string" || name === "") {
          return sendError(res, 400, "required", "Required");
        }
        const id = randomBytes(16).toString("hex");
        const declared = headers["x-upload-content-length"];
        sessions.set(id, {
          bucket,
          name,
          size: declared === undefined ? undefined : Number(declared),
          md5Hash: metadata.md5Hash,
          received: [],
          persisted: 0,
          done: false,
        });
        res.writeHead(200, {
          location: `${base}/upload/storage/v1/b/${
            upload[1]
          }/o?uploadType=resumable&upload_id=${id}`,
          "content-length": "0",
        });
        return res.end();
      }
      return sendError(res, 400, "invalid", `Unsupported uploadType '${type}'.`);
    }
    const media = /^(?:\/download)?\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(path);
    const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    const bucketName = decodeURIComponent((media ?? list)?.[1] ?? "");
    if (media === null && list === null) return sendError(res, 404, "notFound", "Not Found");
    const objects = buckets.get(bucketName);
    if (objects === undefined) return noBucket(res);
    const access = method === "DELETE" ? "write" : "read";
    if (!authorised(headers, bucketName, access)) return unauthorised(res, headers);
    if (list !== null) {
      if (method !== "GET") return sendError(res, 405, "invalid", method);
      return listObjects(bucketName, objects, url, res);
    }
    const name = decodeURIComponent(media![2]!);
    const object = objects.get(name);
    if (object === undefined) {
      return sendError(res, 404, "notFound", `No such object: ${bucketName}/${name}`);
    }
    if (method === "DELETE") {
      objects.delete(name);
      res.writeHead(204);
      return res.end();
    }
    if (method !== "GET") return sendError(res, 405, "invalid", method);
    if (url.searchParams.get("alt") === "media") return sendMedia(object, headers, res, truncate);
    return sendJson(res, 200, resource(bucketName, name, object));
  }

  function resource(bucket: string, name: string, object: GcsObject) {
    return {
      kind: "storage#object",
      id: `${bucket}/${name}/${object.generation}`,
      name,
      bucket,
      generation: String(object.generation),
      contentType: "application/octet-stream",
      size: String(object.bytes.length),
      md5Hash: object.md5,
    };
  }

  function store(bucket: string, name: string, bytes: Uint8Array): GcsObject {
    const object = {
      bytes,
      md5: createHash("md5").update(bytes).digest("base64"),
      generation: generation++,
    };
    buckets.get(bucket)!.set(name, object);
    return object;
  }

  function md5Mismatch(res: http.ServerResponse, given: string, actual: string) {
    return sendError(
      res,
      400,
      "invalid",
      `Provided MD5 hash "${given}" doesn't match calculated MD5 hash "${actual}".`,
    );
  }

  function multipart(
    bucket: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    res: http.ServerResponse,
  ) {
    const type = String(headers["content-type"] ?? "");
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    if (!type.startsWith("multipart/related") || boundary === undefined) {
      return sendError(res, 400, "invalid", "Expected multipart/related with a boundary.");
    }
    const parts = splitMultipart(body, boundary);
    if (parts.length !== 2) return sendError(res, 400, "invalid", "Expected 2 parts.");
    const metadata = JSON.parse(parts[0]!.body.toString("utf8"));
    const name = metadata.name ?? url.searchParams.get("name");
    if (typeof name !== "string" || name === "") return sendError(res, 400, "required", "name");
    const bytes = new Uint8Array(parts[1]!.body);
    const md5 = createHash("md5").update(bytes).digest("base64");
    if (metadata.md5Hash !== undefined && metadata.md5Hash !== md5) {
      return md5Mismatch(res, metadata.md5Hash, md5);
    }
    return sendJson(res, 200, resource(bucket, name, store(bucket, name, bytes)));
  }

  function resumeSession(
    id: string,
    session: Session,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    res: http.ServerResponse,
  ) {
    const range = String(headers["content-range"] ?? "");
    const status = /^bytes \*\/(\d+|\*)$/.exec(range);
    const chunk = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range);
    const incomplete = () => {
      res.writeHead(308, {
        ...(session.persisted > 0 ? { range: `bytes=0-${session.persisted - 1}` } : {}),
        "content-length": "0",
      });
      res.end();
    };
    if (session.done) {
      const object = buckets.get(session.bucket)!.get(session.name)!;
      return sendJson(res, 200, resource(session.bucket, session.name, object));
    }
    if (status !== null) {
      if (status[1] !== "*") session.size = Number(status[1]);
      if (session.size !== undefined && session.persisted === session.size) {
        return finish(id, session, res);
      }
      return incomplete();
    }
    if (chunk === null) return sendError(res, 400, "invalid", "Bad Content-Range.");
    const start = Number(chunk[1]);
    const end = Number(chunk[2]);
    if (chunk[3] !== "*") session.size = Number(chunk[3]);
    if (end - start + 1 !== body.length) {
      return sendError(res, 400, "invalid", "Content-Range does not match the body length.");
    }
    if (start > session.persisted) {
      return sendError(res, 400, "invalid", `Expected the next chunk at ${session.persisted}.`);
    }
    const fresh = body.subarray(session.persisted - start);
    const final = session.size !== undefined && end + 1 === session.size;
    // Only whole 256 KiB units of a non-final chunk are kept (the documented rule).
    const keep = final ? fresh.length : Math.floor(fresh.length / QUANTUM) * QUANTUM;
    session.received.push(fresh.subarray(0, keep));
    session.persisted += keep;
    if (session.size !== undefined && session.persisted === session.size) {
      return finish(id, session, res);
    }
    return incomplete();
  }

  function finish(id: string, session: Session, res: http.ServerResponse) {
    const bytes = new Uint8Array(Buffer.concat(session.received));
    const md5 = createHash("md5").update(bytes).digest("base64");
    if (session.md5Hash !== undefined && session.md5Hash !== md5) {
      sessions.delete(id);
      return md5Mismatch(res, session.md5Hash, md5);
    }
    session.done = true;
    return sendJson(
      res,
      200,
      resource(session.bucket, session.name, store(session.bucket, session.name, bytes)),
    );
  }

  function listObjects(
    bucket: string,
    objects: Map<string, GcsObject>,
    url: URL,
    res: http.ServerResponse,
  ) {
    const prefix = url.searchParams.get("prefix") ?? "";
    const delimiter = url.searchParams.get("delimiter") ?? "";
    const max = Math.min(1000, Number(url.searchParams.get("maxResults") ?? "1000") || 1000);
    const after = url.searchParams.has("pageToken")
      ? Buffer.from(url.searchParams.get("pageToken")!, "base64url").toString("utf8")
      : undefined;
    const names = [...objects.keys()].filter((n) => n.startsWith(prefix)).sort();
    const items: unknown[] = [];
    const prefixes = new Set<string>();
    let last: string | undefined;
    let more = false;
    for (const name of names) {
      if (after !== undefined && name <= after) continue;
      if (items.length + prefixes.size >= max) {
        more = true;
        break;
      }
      const rest = name.slice(prefix.length);
      const cut = delimiter === "" ? -1 : rest.indexOf(delimiter);
      if (cut >= 0) prefixes.add(prefix + rest.slice(0, cut + delimiter.length));
      else items.push(resource(bucket, name, objects.get(name)!));
      last = name;
    }
    sendJson(res, 200, {
      kind: "storage#objects",
      ...(items.length > 0 ? { items } : {}),
      ...(prefixes.size > 0 ? { prefixes: [...prefixes] } : {}),
      ...(more && last !== undefined
        ? { nextPageToken: Buffer.from(last).toString("base64url") }
        : {}),
    });
  }

  function sendMedia(
    object: GcsObject,
    headers: http.IncomingHttpHeaders,
    res: http.ServerResponse,
    truncate: boolean,
  ) {
    let bytes = object.bytes;
    let status = 200;
    const extra: Record<string, string> = {};
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(headers["range"] ?? ""));
    if (range !== null) {
      const start = Number(range[1]);
      const end = range[2] === "" ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
      bytes = bytes.subarray(start, end + 1);
      status = 206;
      extra["content-range"] = `bytes ${start}-${end}/${object.bytes.length}`;
    }
    res.writeHead(status, {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.length),
      "x-goog-hash": `md5=${object.md5}`,
      "x-goog-generation": String(object.generation),
      ...extra,
    });
    if (!truncate) return res.end(bytes);
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    res.socket?.end(() => res.socket?.destroy());
  }

  function bearer(headers: http.IncomingHttpHeaders): string | undefined {
    return /^Bearer (.+)$/.exec(String(headers["authorization"] ?? ""))?.[1];
  }

  function authorised(headers: http.IncomingHttpHeaders, bucket: string, access: string) {
    if (oauth.check(bearer(headers)) !== undefined) return true;
    return bearer(headers) === undefined && access === "read" && publicBuckets.has(bucket);
  }

  function unauthorised(res: http.ServerResponse, headers: http.IncomingHttpHeaders) {
    if (bearer(headers) === undefined) {
      return sendError(
        res,
        401,
        "required",
        "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.",
      );
    }
    return sendError(res, 401, "authError", "Invalid Credentials", {
      "www-authenticate": 'Bearer realm="https://accounts.google.com/"',
    });
  }

  function noBucket(res: http.ServerResponse) {
    return sendError(res, 404, "notFound", "The specified bucket does not exist.");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  oauth.tokenUri = `${base}/token`;

  const api: GcsContractServer = {
    url: base,
    host: `127.0.0.1:${port}`,
    oauth,
    buckets,
    requests,
    metadata: false,
    addBucket(name, options = {}) {
      buckets.set(name, new Map());
      if (options.public) publicBuckets.add(name);
    },
    names(bucket, prefix = "") {
      return [...(buckets.get(bucket)?.keys() ?? [])].filter((n) => n.startsWith(prefix)).sort();
    },
    revokeTokensAfter(count) {
      revokeCountdown = count;
    },
    openSessions: () => [...sessions.values()].filter((s) => !s.done).length,
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
      });
    },
  };
  return api;
}

function defaultReason(status: number): string {
  return status === 429
    ? "rateLimitExceeded"
    : status === 403
    ? "forbidden"
    : status === 404
    ? "notFound"
    : status >= 500
    ? "backendError"
    : "invalid";
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** Google's error body (`{"error": {"code", "message", "errors": [{domain, reason, message}]}}`). */
export function sendError(
  res: http.ServerResponse,
  status: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
) {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, status, {
    error: { code: status, message, errors: [{ domain: "global", reason, message }] },
  });
}

/** The parts of a multipart body (RFC 2046): headers and bytes, CRLF or LF line ends. */
export function splitMultipart(
  body: Buffer,
  boundary: string,
): { headers: string; body: Buffer }[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: string; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    let start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    if (body[start] === 0x0d) start++;
    if (body[start] === 0x0a) start++;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const part = body.subarray(start, end);
    let split = part.indexOf("\r\n\r\n");
    let skip = 4;
    if (split < 0) {
      split = part.indexOf("\n\n");
      skip = 2;
    }
    parts.push({
      headers: part.subarray(0, split).toString("utf8"),
      body: part.subarray(split + skip),
    });
    at = next;
  }
  return parts;
}
