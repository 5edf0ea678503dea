/**
 * The smart-HTTP request pair of git's http protocol: discovery
 * (`GET info/refs?service=…`, redirects followed) and one RPC
 * (`POST git-upload-pack|git-receive-pack`), with the credential retry and
 * every HTTP status turned into one clear error. The bytes inside are
 * pkt-lines read by lib/git/protocol.
 */
import { AuthError, DxpError, GitRemoteError } from "../../errors/mod.ts";
import { redactUrl } from "../../util/redact.ts";
import { AGENT } from "../protocol/agent.ts";
import { PktReader } from "../protocol/pkt_line.ts";
import { authFailedError, type HttpAuth, mayCarryCredentials } from "./http_auth.ts";
import {
  headerValue,
  type HttpConnectionPool,
  type HttpRequest,
  type HttpResponse,
} from "./http_request.ts";
import { isCertificateError } from "./http_tls.ts";

export type GitService = "git-upload-pack" | "git-receive-pack";

/** Hosting front ends (Azure DevOps, some proxies) only speak smart HTTP to a `git/` agent. */
const USER_AGENT = `git/2.0 (${AGENT})`;
const MAX_REDIRECTS = 5;

/** Everything one session needs to talk to the remote. */
export interface SmartHttpContext {
  /** The repository URL without user info. */
  readonly base: URL;
  /** The URL as shown to users (redacted). */
  readonly displayUrl: string;
  readonly auth: HttpAuth;
  /** `http.extraHeader` values for the remote's own origin (see http_extra_headers.ts). */
  readonly extraHeaders: Readonly<Record<string, string>>;
  readonly pool: HttpConnectionPool;
  readonly onDebug?: (line: string) => void;
}

/** A repository base URL with exactly one trailing slash stripped. */
function join(base: URL, suffix: string): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${suffix}`;
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * `GET <base>/info/refs?service=<svc>`: returns the advertisement stream and
 * the base URL after redirects (the POST goes there).
 */
export async function discover(
  ctx: SmartHttpContext,
  service: GitService,
  options: { v2: boolean; signal?: AbortSignal },
): Promise<{ reader: PktReader; base: URL }> {
  let base = ctx.base;
  const suffix = `info/refs?service=${service}`;
  let target = new URL(`${join(base, "info/refs").href}?service=${service}`);
  const headers: Record<string, string> = { Accept: "*/*", Pragma: "no-cache" };
  if (options.v2) headers["Git-Protocol"] = "version=2";
  for (let hops = 0;; hops++) {
    const res = await send(ctx, { url: target, method: "GET", headers, signal: options.signal });
    if (res.status >= 300 && res.status < 400 && res.headers["location"] !== undefined) {
      await res.text(0);
      const next = new URL(headerValue(res.headers, "location") ?? "", target);
      const upgrade = target.protocol === "http:" && next.protocol === "https:";
      if (hops >= MAX_REDIRECTS || (next.protocol !== target.protocol && !upgrade)) {
        throw new GitRemoteError(
          `'${ctx.displayUrl}' redirects to '${redactUrl(next.href)}', which dxp does not follow.`,
        );
      }
      if (!`${next.pathname}${next.search}`.endsWith(`/${suffix}`)) {
        throw new GitRemoteError(
          `'${ctx.displayUrl}' redirects to '${
            redactUrl(next.href)
          }', which is not a Git repository URL.`,
        );
      }
      ctx.onDebug?.(`http: redirected to ${redactUrl(next.href)}`);
      target = next;
      base = new URL(next.href);
      base.pathname = next.pathname.slice(0, -"/info/refs".length);
      base.search = "";
      continue;
    }
    await checkStatus(ctx, res, service);
    const type = headerValue(res.headers, "content-type") ?? "";
    if (!type.startsWith(`application/x-${service}-advertisement`)) {
      await res.text(0);
      throw new GitRemoteError(
        `'${ctx.displayUrl}' did not answer as a smart-HTTP Git server (dumb HTTP is not supported).`,
      );
    }
    return { reader: new PktReader(guardBody(ctx, res.body, options.signal)), base };
  }
}

/** `POST <base>/<svc>` with the request bytes; returns the result stream. */
export async function rpc(
  ctx: SmartHttpContext,
  base: URL,
  service: GitService,
  body: Uint8Array,
  options: { v2: boolean; signal?: AbortSignal },
): Promise<PktReader> {
  const headers: Record<string, string> = {
    "Content-Type": `application/x-${service}-request`,
    Accept: `application/x-${service}-result`,
  };
  if (options.v2) headers["Git-Protocol"] = "version=2";
  const url = join(base, service);
  const res = await send(ctx, { url, method: "POST", headers, body, signal: options.signal });
  await checkStatus(ctx, res, service);
  const type = headerValue(res.headers, "content-type") ?? "";
  if (!type.startsWith(`application/x-${service}-result`)) {
    await res.text(0);
    throw new GitRemoteError(
      `'${ctx.displayUrl}' answered ${service} with '${type}' instead of Git data.`,
    );
  }
  return new PktReader(guardBody(ctx, res.body, options.signal));
}

/** The response body, with a broken connection turned into one clear error. */
async function* guardBody(
  ctx: SmartHttpContext,
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof DxpError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    const reason = typeof code === "string" ? code : error instanceof Error ? error.message : "";
    throw new GitRemoteError(
      `The connection to '${ctx.displayUrl}' broke while receiving data (${redactUrl(reason)}).`,
      { cause: error },
    );
  }
}

/** One request with credentials, retried once after a 401 when helpers gave new ones. */
async function send(
  ctx: SmartHttpContext,
  req: Omit<HttpRequest, "signal"> & { signal: AbortSignal | undefined },
): Promise<HttpResponse> {
  for (;;) {
    const { headers, configured } = withExtraHeaders(ctx, req.url, req.headers);
    const authorization = configured ?? ctx.auth.header(req.url);
    if (authorization !== undefined) headers["Authorization"] = authorization;
    const started = performance.now();
    let res: HttpResponse;
    try {
      const init: HttpRequest = { url: req.url, method: req.method, headers };
      res = await ctx.pool.request({
        ...init,
        ...(req.body === undefined ? {} : { body: req.body }),
        ...(req.signal === undefined ? {} : { signal: req.signal }),
      });
    } catch (error) {
      if (req.signal?.aborted || error instanceof DxpError) throw error;
      throw networkError(ctx.displayUrl, error);
    }
    ctx.onDebug?.(
      `http: ${req.method} ${redactUrl(req.url.href)} -> ${res.status} ` +
        `(${Math.round(performance.now() - started)} ms)`,
    );
    if (res.status !== 401) {
      if (authorization !== undefined && res.status < 400) await ctx.auth.onAccepted();
      return res;
    }
    await res.text(0);
    // A configured Authorization header is explicit: git's helpers are not asked.
    if (configured !== undefined) throw authFailedError(ctx.displayUrl);
    await ctx.auth.onUnauthorized(req.url);
  }
}

/**
 * The request headers plus `http.extraHeader` (only to the remote's own
 * origin). A configured Authorization is returned apart, and dropped on
 * plain http to a non-loopback host.
 */
function withExtraHeaders(
  ctx: SmartHttpContext,
  url: URL,
  requestHeaders: Readonly<Record<string, string>>,
): { headers: Record<string, string>; configured?: string } {
  const headers: Record<string, string> = {};
  let configured: string | undefined;
  if (url.origin === ctx.base.origin) {
    for (const [name, value] of Object.entries(ctx.extraHeaders)) {
      if (name.toLowerCase() !== "authorization") headers[name] = value;
      else if (mayCarryCredentials(url)) configured = value;
      else ctx.onDebug?.("http: not sending http.extraHeader Authorization over plain http");
    }
  }
  Object.assign(headers, requestHeaders, { "User-Agent": USER_AGENT });
  return configured === undefined ? { headers } : { headers, configured };
}

/** Maps a non-200 answer to the error users see. */
async function checkStatus(
  ctx: SmartHttpContext,
  res: HttpResponse,
  service: GitService,
): Promise<void> {
  if (res.status === 200) return;
  const said = remoteText(await res.text(1024), headerValue(res.headers, "content-type"));
  const url = ctx.displayUrl;
  if (res.status === 401) throw authFailedError(url);
  if (res.status === 403) {
    const verb = service === "git-receive-pack" ? "push to" : "read";
    throw new AuthError(
      `Access denied to '${url}' (HTTP 403): these credentials may not ${verb} this repository${said}.`,
    );
  }
  if (res.status === 404) throw new GitRemoteError(`'${url}' is not a valid Git remote or URL`);
  const text = res.statusMessage === "" ? "" : ` ${res.statusMessage}`;
  throw new GitRemoteError(`The Git server at '${url}' answered HTTP ${res.status}${text}${said}.`);
}

/** The first line of a plain-text error body, as `; the server said "…"`. */
function remoteText(body: string, type: string | undefined): string {
  if (type !== undefined && !type.startsWith("text/plain")) return "";
  const line = body.trim().split("\n")[0]?.trim() ?? "";
  if (line === "") return "";
  const short = line.length > 160 ? `${line.slice(0, 160)}…` : line;
  return `; the server said ${JSON.stringify(redactUrl(short))}`;
}

/** Connection-level failures (refused, DNS, TLS, reset) as one line. */
function networkError(displayUrl: string, error: unknown): GitRemoteError {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === "string" ? code : "";
  const message = error instanceof Error ? error.message : String(error);
  if (isCertificateError(error)) {
    return new GitRemoteError(
      `The TLS certificate of '${displayUrl}' is not trusted (${codeText || message}); ` +
        `point GIT_SSL_CAINFO, SSL_CERT_FILE or http.sslCAInfo at the CA that signed it.`,
      { cause: error },
    );
  }
  const reasons: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "host name lookup failed",
    ECONNRESET: "connection reset",
    ETIMEDOUT: "timed out",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
    EPIPE: "connection closed",
  };
  const reason = reasons[codeText] ?? redactUrl(message.split("\n")[0] ?? message);
  return new GitRemoteError(`Could not reach '${displayUrl}': ${reason}.`, { cause: error });
}
