/**
 * A Google Drive API v2 server for contract tests, written from the Drive v2
 * reference (files.get/list/insert/trash/delete, resumable media upload,
 * `alt=media` downloads with `acknowledgeAbuse`, the `q` query language,
 * `corpora`/`driveId` for shared drives) and spec/cloud-remotes.md §2.5–2.7 —
 * not from dxp's client. Items live in memory as `{id, title, mimeType,
 * parents, trashed, bytes}`; titles are not unique (duplicates are normal on
 * Drive) and `title=` matches case-insensitively, as Drive does. The aliases
 * `root` and `appDataFolder` name the user's two roots. OAuth (`/token`, and
 * an authorization page at `/o/oauth2/auth` that consents at once and
 * redirects to the client's loopback URI) is GoogleOAuth. Faults are
 * injected per request, including Drive's 403 `userRateLimitExceeded`.
 */
import { Buffer } from "node:buffer";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "../store_suite.ts";
import { sendError, sendJson } from "./gcs_contract_server.ts";
import { GoogleOAuth } from "./google_oauth.ts";

export const FOLDER = "application/vnd.google-apps.folder";
const DRIVE_SCOPE = "https://www.googleapis.com/auth/drive";
const QUANTUM = 256 * 1024;

export interface DriveItem {
  id: string;
  title: string;
  mimeType: string;
  parents: string[];
  trashed: boolean;
  bytes?: Uint8Array;
  md5?: string;
  /** The shared drive it lives in. */
  driveId?: string;
  /** Drive flagged it as malware/spam: downloads need acknowledgeAbuse=true. */
  abusive?: boolean;
}

export type DriveFault =
  | { status: number; reason?: string; retryAfter?: string; location?: string }
  | "reset"
  | "truncate"
  | { dropAfter: number; status?: number };

export interface SeenDriveRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  fault?: DriveFault;
}

interface Session {
  title: string;
  parent: string;
  size: number | undefined;
  received: Buffer[];
  persisted: number;
  done?: DriveItem;
}

export interface GDriveContractServer extends FaultInjector {
  /** `http://127.0.0.1:<port>`: DXP_GDRIVE_API_URL. */
  url: string;
  oauth: GoogleOAuth;
  items: Map<string, DriveItem>;
  requests: SeenDriveRequest[];
  /** The id behind the `root` alias (My Drive). */
  rootId: string;
  appDataId: string;
  /** A folder (`parent`: an id or alias); returns its id. Duplicate titles are allowed. */
  addFolder(parent: string, title: string): string;
  addFile(parent: string, title: string, bytes: Uint8Array): string;
  /** A shared drive; returns its id (also the id of its root folder). */
  addSharedDrive(name: string): string;
  /** Paths (`a/b/c`, from folder `top`) of every file not in the trash, sorted. */
  files(top: string): string[];
  /** Folder paths from `top`, with a count per path (more than 1 = duplicate titles). */
  folders(top: string): Map<string, number>;
  openSessions(): number;
  failNext(fault: DriveFault, count?: number): void;
  failMatching(
    match: (method: string, url: string, headers: http.IncomingHttpHeaders) => boolean,
    fault: DriveFault,
    count?: number,
  ): void;
  stop(): Promise<void>;
}

export async function startGDriveContractServer(): Promise<GDriveContractServer> {
  const oauth = new GoogleOAuth();
  const items = new Map<string, DriveItem>();
  const sessions = new Map<string, Session>();
  const requests: SeenDriveRequest[] = [];
  let pending: {
    match: (m: string, u: string, h: http.IncomingHttpHeaders) => boolean;
    fault: DriveFault;
    left: number;
  }[] = [];
  let base = "";
  let resetAgain: { key: string; left: number } | undefined;
  const newId = () => `1${randomBytes(16).toString("base64url").replace(/[-_]/g, "x")}`;
  const rootId = `0A${randomBytes(8).toString("hex")}Uk9PVA`;
  const appDataId = `0A${randomBytes(8).toString("hex")}QVBQ`;
  for (const [id, title] of [[rootId, "My Drive"], [appDataId, "Application Data"]]) {
    items.set(id!, { id: id!, title: title!, mimeType: FOLDER, parents: [], trashed: false });
  }
  const alias = (id: string) => (id === "root" ? rootId : id === "appDataFolder" ? appDataId : id);

  const takeFault = (method: string, url: string, headers: http.IncomingHttpHeaders) => {
    const entry = pending.find((p) => p.left > 0 && p.match(method, url, headers));
    if (!entry) return undefined;
    entry.left--;
    pending = pending.filter((p) => p.left > 0);
    return entry.fault;
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const fault = takeFault(method, req.url ?? "/", req.headers);
    requests.push({
      method,
      url: req.url ?? "/",
      headers: req.headers,
      ...(fault === undefined ? {} : { fault }),
    });
    // HTTP clients (Deno's, Bun's) send an idempotent request again by themselves when a
    // reused connection dies; a dropped request is dropped again for those copies.
    const again = resetAgain !== undefined && resetAgain.key === `${method} ${req.url}` &&
      resetAgain.left-- > 0;
    if (fault === "reset" || again) {
      if (fault === "reset") resetAgain = { key: `${method} ${req.url}`, left: 3 };
      req.socket.destroy();
      return;
    }
    if (fault === "truncate") truncateResponse(res);
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
          keepDropped(new URL(req.url ?? "/", base), req.headers, Buffer.concat(chunks));
          if (fault.status === undefined) req.socket.destroy();
          else sendError(res, fault.status, "backendError", "injected");
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
      if (typeof fault === "object" && "status" in fault && fault.status !== undefined) {
        const f = fault as {
          status: number;
          reason?: string;
          retryAfter?: string;
          location?: string;
        };
        const reason = f.reason ?? (f.status === 403 ? "forbidden" : "backendError");
        res.setHeader("content-type", "application/json; charset=UTF-8");
        if (f.retryAfter) res.setHeader("retry-after", f.retryAfter);
        res.writeHead(f.status);
        res.end(JSON.stringify({
          error: {
            code: f.status,
            message: "injected",
            errors: [{
              domain: "usageLimits",
              reason,
              message: "injected",
              ...(f.location ? { location: f.location } : {}),
            }],
          },
        }));
        return;
      }
      try {
        route(
          method,
          new URL(req.url ?? "/", base),
          req.headers,
          Buffer.concat(chunks),
          res,
        );
      } catch (error) {
        sendError(res, 500, "backendError", String(error));
      }
    });
  });

  function keepDropped(url: URL, headers: http.IncomingHttpHeaders, body: Buffer) {
    const session = sessions.get(url.searchParams.get("upload_id") ?? "");
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(headers["content-range"] ?? ""));
    if (session === undefined || range === null || Number(range[1]) !== session.persisted) return;
    const keep = Math.floor(body.length / QUANTUM) * QUANTUM;
    session.received.push(body.subarray(0, keep));
    session.persisted += keep;
  }

  function resource(item: DriveItem) {
    return {
      kind: "drive#file",
      id: item.id,
      title: item.title,
      mimeType: item.mimeType,
      labels: { trashed: item.trashed },
      parents: item.parents.map((id) => ({ kind: "drive#parentReference", id })),
      ...(item.bytes !== undefined
        ? { fileSize: String(item.bytes.length), md5Checksum: item.md5 }
        : {}),
      ...(item.driveId !== undefined ? { driveId: item.driveId } : {}),
    };
  }

  function driveOf(parent: string): string | undefined {
    const item = items.get(parent);
    return item?.driveId;
  }

  function create(title: string, parent: string, mimeType: string, bytes?: Uint8Array): DriveItem {
    const id = newId();
    const item: DriveItem = { id, title, mimeType, parents: [parent], trashed: false };
    const drive = driveOf(parent);
    if (drive !== undefined) item.driveId = drive;
    if (bytes !== undefined) {
      item.bytes = bytes;
      item.md5 = createHash("md5").update(bytes).digest("hex");
    }
    items.set(id, item);
    return item;
  }

  function token(headers: http.IncomingHttpHeaders): string | undefined {
    return /^Bearer (.+)$/.exec(String(headers["authorization"] ?? ""))?.[1];
  }

  function route(
    method: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    res: http.ServerResponse,
  ) {
    const path = url.pathname;
    if (path === "/token" && method === "POST") {
      const answer = oauth.grant(Object.fromEntries(new URLSearchParams(body.toString("utf8"))));
      return sendJson(res, answer.status, answer.body);
    }
    if (path === "/o/oauth2/auth" && method === "GET") return authorize(url, res);
    const issued = oauth.check(token(headers));
    if (
      issued === undefined ||
      !issued.scope.split(" ").includes(DRIVE_SCOPE) && issued.scope !== "granted"
    ) {
      res.setHeader("www-authenticate", 'Bearer realm="https://accounts.google.com/"');
      return sendError(res, 401, "authError", "Invalid Credentials");
    }
    // files.list also arrives as a POST with the query in the body when its URL would be too long.
    if (method === "POST" && headers["x-http-method-override"] === "GET") {
      method = "GET";
      for (const [k, v] of new URLSearchParams(body.toString("utf8"))) {
        url.searchParams.append(k, v);
      }
    }
    if (path.startsWith("/upload/drive/v2/files")) {
      if (url.searchParams.has("upload_id")) return sessionPut(method, url, headers, body, res);
      if (method !== "POST" || url.searchParams.get("uploadType") !== "resumable") {
        return sendError(res, 400, "invalid", "Only resumable uploads are served here.");
      }
      const metadata = JSON.parse(body.toString("utf8") || "{}");
      const parent = alias(metadata.parents?.[0]?.id ?? "root");
      if (items.get(parent)?.mimeType !== FOLDER) {
        return sendError(res, 404, "notFound", `File not found: ${parent}.`);
      }
      const id = randomBytes(16).toString("hex");
      const declared = headers["x-upload-content-length"];
      sessions.set(id, {
        title: metadata.title ?? "Untitled",
        parent,
        size: declared === undefined ? undefined : Number(declared),
        received: [],
        persisted: 0,
      });
      res.writeHead(200, {
        location: `${base}/upload/drive/v2/files?uploadType=resumable&upload_id=${id}`,
        "content-length": "0",
      });
      return res.end();
    }
    if (path === "/drive/v2/files") {
      if (method === "GET") return list(url, res);
      if (method === "POST") {
        const metadata = JSON.parse(body.toString("utf8") || "{}");
        const parent = alias(metadata.parents?.[0]?.id ?? "root");
        if (items.get(parent)?.mimeType !== FOLDER) {
          return sendError(res, 404, "notFound", `File not found: ${parent}.`);
        }
        return sendJson(
          res,
          200,
          resource(
            create(
              metadata.title ?? "Untitled",
              parent,
              metadata.mimeType ?? "application/octet-stream",
            ),
          ),
        );
      }
    }
    const one = /^\/drive\/v2\/files\/([^/]+)(\/trash)?$/.exec(path);
    if (one !== null) {
      const item = items.get(alias(decodeURIComponent(one[1]!)));
      if (item === undefined) {
        return sendError(res, 404, "notFound", `File not found: ${one[1]}.`);
      }
      if (one[2] !== undefined) {
        if (method !== "POST") return sendError(res, 405, "invalid", method);
        item.trashed = true;
        return sendJson(res, 200, resource(item));
      }
      if (method === "DELETE") {
        items.delete(item.id);
        res.writeHead(204);
        return res.end();
      }
      if (method !== "GET") return sendError(res, 405, "invalid", method);
      if (url.searchParams.get("alt") === "media") return media(item, url, headers, res);
      if (url.searchParams.get("fields") === "driveId") {
        return sendJson(res, 200, item.driveId !== undefined ? { driveId: item.driveId } : {});
      }
      return sendJson(res, 200, resource(item));
    }
    return sendError(res, 404, "notFound", "Not Found");
  }

  function authorize(url: URL, res: http.ServerResponse) {
    const p = url.searchParams;
    const redirect = p.get("redirect_uri") ?? "";
    const scopes = (p.get("scope") ?? "").split(" ");
    if (
      !/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//.test(redirect) ||
      p.get("response_type") !== "code" || p.get("access_type") !== "offline" ||
      !scopes.includes(DRIVE_SCOPE) || !scopes.includes(`${DRIVE_SCOPE}.appdata`)
    ) {
      res.writeHead(400, { "content-type": "text/plain" });
      return res.end("Error 400: invalid_request");
    }
    const code = oauth.issueCode(p.get("client_id") ?? "", redirect, "me@example.com", {
      challenge: p.get("code_challenge") ?? undefined,
      method: p.get("code_challenge_method") ?? undefined,
    });
    const target = new URL(redirect);
    if (p.has("state")) target.searchParams.set("state", p.get("state")!);
    target.searchParams.set("code", code);
    target.searchParams.set("scope", scopes.join(" "));
    res.writeHead(302, { location: target.href });
    res.end();
  }

  function list(url: URL, res: http.ServerResponse) {
    const q = url.searchParams.get("q") ?? "";
    let match: (item: DriveItem) => boolean;
    try {
      match = parseQuery(q, alias);
    } catch (error) {
      return sendError(res, 400, "invalid", `Invalid query: ${(error as Error).message}`);
    }
    const corpora = url.searchParams.get("corpora") ?? "default";
    const driveId = url.searchParams.get("driveId");
    if (
      corpora === "drive" &&
      (driveId === null || url.searchParams.get("includeItemsFromAllDrives") !== "true")
    ) {
      return sendError(res, 400, "invalid", "driveId and includeItemsFromAllDrives are required");
    }
    const inScope = (item: DriveItem) =>
      corpora === "drive" ? item.driveId === driveId : item.driveId === undefined;
    const max = Math.min(1000, Number(url.searchParams.get("maxResults") ?? "100") || 100);
    const all = [...items.values()].filter((item) => inScope(item) && match(item))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const start = Number(url.searchParams.get("pageToken") ?? "0");
    const page = all.slice(start, start + max);
    sendJson(res, 200, {
      kind: "drive#fileList",
      items: page.map(resource),
      ...(start + max < all.length ? { nextPageToken: String(start + max) } : {}),
    });
  }

  function media(
    item: DriveItem,
    url: URL,
    headers: http.IncomingHttpHeaders,
    res: http.ServerResponse,
  ) {
    if (item.bytes === undefined) {
      return sendError(
        res,
        403,
        "fileNotDownloadable",
        "Only files with binary content can be downloaded.",
      );
    }
    if (item.abusive && url.searchParams.get("acknowledgeAbuse") !== "true") {
      return sendError(
        res,
        403,
        "cannotDownloadAbusiveFile",
        "This file has been identified as malware or spam and cannot be downloaded.",
      );
    }
    let bytes = item.bytes;
    let status = 200;
    const extra: Record<string, string> = {};
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(headers["range"] ?? ""));
    if (range !== null) {
      if (bytes.length === 0) {
        res.writeHead(416, { "content-range": "bytes */0" });
        return res.end();
      }
      const first = Number(range[1]);
      const last = range[2] === ""
        ? bytes.length - 1
        : Math.min(Number(range[2]), bytes.length - 1);
      bytes = bytes.subarray(first, last + 1);
      status = 206;
      extra["content-range"] = `bytes ${first}-${last}/${item.bytes.length}`;
    }
    res.writeHead(status, {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.length),
      ...extra,
    });
    res.end(bytes);
  }

  function sessionPut(
    method: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    res: http.ServerResponse,
  ) {
    const id = url.searchParams.get("upload_id")!;
    const session = sessions.get(id);
    if (session === undefined) return sendError(res, 404, "notFound", "Upload session not found.");
    if (method === "DELETE") {
      sessions.delete(id);
      res.writeHead(499);
      return res.end();
    }
    if (method !== "PUT") return sendError(res, 405, "invalid", method);
    if (session.done) return sendJson(res, 200, resource(session.done));
    const range = String(headers["content-range"] ?? "");
    const incomplete = () => {
      res.writeHead(308, {
        ...(session.persisted > 0 ? { range: `bytes=0-${session.persisted - 1}` } : {}),
        "content-length": "0",
      });
      res.end();
    };
    const status = /^bytes \*\/(\d+)$/.exec(range);
    const chunk = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
    if (range === "") {
      // The whole (small or empty) file in one request.
      session.received = [body];
      session.persisted = body.length;
      session.size = body.length;
    } else if (status !== null) {
      session.size = Number(status[1]);
      if (session.persisted !== session.size) return incomplete();
    } else if (chunk !== null) {
      const start = Number(chunk[1]);
      const end = Number(chunk[2]);
      session.size = Number(chunk[3]);
      if (end - start + 1 !== body.length || start > session.persisted) {
        return sendError(res, 400, "badContent", "Invalid Content-Range for this upload.");
      }
      const fresh = body.subarray(session.persisted - start);
      const final = end + 1 === session.size;
      const keep = final ? fresh.length : Math.floor(fresh.length / QUANTUM) * QUANTUM;
      session.received.push(fresh.subarray(0, keep));
      session.persisted += keep;
      if (session.persisted !== session.size) return incomplete();
    } else {
      return sendError(res, 400, "badContent", "Invalid Content-Range.");
    }
    const item = create(
      session.title,
      session.parent,
      "application/octet-stream",
      new Uint8Array(Buffer.concat(session.received)),
    );
    session.done = item;
    return sendJson(res, 200, resource(item));
  }

  const walk = (top: string, keep: (item: DriveItem) => boolean) => {
    const out: string[] = [];
    const visit = (id: string, prefix: string) => {
      for (const item of items.values()) {
        if (item.trashed || !item.parents.includes(id)) continue;
        const path = prefix === "" ? item.title : `${prefix}/${item.title}`;
        if (keep(item)) out.push(path);
        if (item.mimeType === FOLDER) visit(item.id, path);
      }
    };
    visit(alias(top), "");
    return out.sort();
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  oauth.tokenUri = `${base}/token`;
  return {
    url: base,
    oauth,
    items,
    requests,
    rootId,
    appDataId,
    addFolder: (parent, title) => create(title, alias(parent), FOLDER).id,
    addFile: (parent, title, bytes) =>
      create(title, alias(parent), "application/octet-stream", bytes).id,
    addSharedDrive(name) {
      const id = `0A${randomBytes(8).toString("hex")}Uk9PVA${items.size}`;
      items.set(id, {
        id,
        title: name,
        mimeType: FOLDER,
        parents: [],
        trashed: false,
        driveId: id,
      });
      return id;
    },
    files: (top) => walk(top, (item) => item.mimeType !== FOLDER),
    folders(top) {
      const counts = new Map<string, number>();
      for (const path of walk(top, (item) => item.mimeType === FOLDER)) {
        counts.set(path, (counts.get(path) ?? 0) + 1);
      }
      return counts;
    },
    openSessions: () => [...sessions.values()].filter((s) => s.done === undefined).length,
    failNext(fault, count = 1) {
      pending.push({ match: () => true, fault, left: count });
    },
    failMatching(match, fault, count = 1) {
      pending.push({ match, fault, left: count });
    },
    clear() {
      pending = [];
      resetAgain = undefined;
    },
    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/**
 * Makes `res` send only the first half of its body (of its Content-Length),
 * then drop the connection: a response cut short on the wire.
 */
function truncateResponse(res: http.ServerResponse) {
  const end = res.end.bind(res);
  res.end = ((chunk?: unknown) => {
    const bytes = typeof chunk === "string"
      ? Buffer.from(chunk)
      : chunk instanceof Uint8Array
      ? chunk
      : Buffer.alloc(0);
    if (bytes.length < 2) return end(chunk as Uint8Array);
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    res.socket?.end(() => res.socket?.destroy());
    return res;
  }) as typeof res.end;
}

/**
 * Drive's query language, the part clients of this kind use (the v2
 * reference, "Search for files"): `and`/`or` of terms, parentheses,
 * `'<id>' in parents`, `title = '<text>'` (case-insensitive, `\'` and `\\`
 * escapes), `trashed = false|true`, `mimeType = '<type>'`.
 */
export function parseQuery(
  q: string,
  alias: (id: string) => string,
): (item: DriveItem) => boolean {
  let at = 0;
  const space = () => {
    while (q[at] === " ") at++;
  };
  const word = (w: string) => {
    space();
    if (q.slice(at, at + w.length).toLowerCase() === w && !/[a-z]/i.test(q[at + w.length] ?? "")) {
      at += w.length;
      return true;
    }
    return false;
  };
  const literal = (): string => {
    space();
    if (q[at] !== "'") throw new Error(`expected a quoted string at ${at}`);
    at++;
    let out = "";
    for (;;) {
      const c = q[at++];
      if (c === undefined) throw new Error("unterminated string");
      if (c === "\\") out += q[at++] ?? "";
      else if (c === "'") return out;
      else out += c;
    }
  };
  const term = (): (item: DriveItem) => boolean => {
    space();
    if (q[at] === "(") {
      at++;
      const inner = or();
      space();
      if (q[at] !== ")") throw new Error(`expected ) at ${at}`);
      at++;
      return inner;
    }
    if (q[at] === "'") {
      const id = alias(literal());
      if (!word("in") || !word("parents")) throw new Error("expected 'in parents'");
      return (item) => item.parents.includes(id);
    }
    for (const field of ["trashed", "title", "mimetype"]) {
      if (word(field)) {
        space();
        if (q[at] !== "=") throw new Error(`expected = after ${field}`);
        at++;
        if (field === "trashed") {
          const value = word("true") ? true : word("false") ? false : undefined;
          if (value === undefined) throw new Error("trashed must be true or false");
          return (item) => item.trashed === value;
        }
        const text = literal();
        return field === "title"
          ? (item) => item.title.toLowerCase() === text.toLowerCase()
          : (item) => item.mimeType === text;
      }
    }
    throw new Error(`unexpected input at ${at}: ${q.slice(at, at + 20)}`);
  };
  const and = (): (item: DriveItem) => boolean => {
    const parts = [term()];
    while (word("and")) parts.push(term());
    return (item) => parts.every((p) => p(item));
  };
  const or = (): (item: DriveItem) => boolean => {
    const parts = [and()];
    while (word("or")) parts.push(and());
    return (item) => parts.some((p) => p(item));
  };
  const root = or();
  space();
  if (at !== q.length) throw new Error(`unexpected input at ${at}`);
  return root;
}
