/**
 * One HTTP(S) request through node:http / node:https — chosen over `fetch`
 * because it takes a custom CA list and `rejectUnauthorized` the same way
 * under Deno and Bun, and sends an in-memory body with its Content-Length.
 *
 * A `HttpConnectionPool` keeps sockets alive for the few requests of one
 * session (discovery, ls-refs, one POST) and must be closed afterwards.
 */
import type http from "node:http";
import type https from "node:https";
import { lazyBuiltin } from "../../util/builtin.ts";
import { openTlsTunnel, proxyAuthorization } from "./http_proxy.ts";
import type { HttpTlsSettings } from "./http_tls.ts";

const httpModule = lazyBuiltin<typeof http>("node:http");
const httpsModule = lazyBuiltin<typeof https>("node:https");

export interface HttpRequest {
  readonly url: URL;
  readonly method: "GET" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  /** Sent in one piece with Content-Length (never chunked). */
  readonly body?: Uint8Array;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly statusMessage: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AsyncIterable<Uint8Array>;
  /** Reads at most `limit` bytes of the body as text and drops the rest. */
  text(limit?: number): Promise<string>;
}

/** Idle time after which a request fails instead of hanging forever. */
const SOCKET_TIMEOUT_MS = 300_000;

/** Keep-alive agents for one session; `close()` frees the sockets. */
export class HttpConnectionPool {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #tls: HttpTlsSettings;
  readonly #proxyFor: (target: URL) => URL | undefined;

  /** `proxyFor` names the http proxy for a URL (undefined: connect directly). */
  constructor(tls: HttpTlsSettings, proxyFor: (target: URL) => URL | undefined = () => undefined) {
    this.#tls = tls;
    this.#proxyFor = proxyFor;
    this.#http = new (httpModule().Agent)({ keepAlive: true, maxSockets: 4 });
    const options: https.AgentOptions = {
      keepAlive: true,
      maxSockets: 4,
      rejectUnauthorized: tls.rejectUnauthorized,
    };
    if (tls.ca !== undefined) options.ca = [...tls.ca];
    this.#https = new (httpsModule().Agent)(options);
  }

  /** Sends the request; resolves when the response headers arrived. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const secure = req.url.protocol === "https:";
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers["Content-Length"] = String(req.body.length);
    const options: https.RequestOptions = {
      method: req.method,
      hostname: req.url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: req.url.port === "" ? (secure ? 443 : 80) : Number(req.url.port),
      path: `${req.url.pathname}${req.url.search}`,
      headers,
      agent: secure ? this.#https : this.#http,
    };
    const proxy = this.#proxyFor(req.url);
    if (proxy !== undefined && secure) {
      // One tunnel per request: simple, and a session makes at most three.
      const socket = await openTlsTunnel(proxy, req.url, this.#tls, req.signal);
      // No agent at all: with one (even `false`) Node, Deno and Bun ignore createConnection.
      delete options.agent;
      options.createConnection = () => socket;
    } else if (proxy !== undefined) {
      options.hostname = proxy.hostname.replace(/^\[(.*)\]$/, "$1");
      options.port = proxy.port === "" ? 80 : Number(proxy.port);
      options.path = req.url.href;
      headers["Host"] = req.url.host;
      const auth = proxyAuthorization(proxy);
      if (auth !== undefined) headers["Proxy-Authorization"] = auth;
    }
    return await new Promise((resolve, reject) => {
      const signal = req.signal;
      if (signal?.aborted) return reject(signal.reason);
      const client = secure ? httpsModule().request(options) : httpModule().request(options);
      const onAbort = () => client.destroy(signal?.reason as Error | undefined);
      signal?.addEventListener("abort", onAbort, { once: true });
      client.setTimeout(SOCKET_TIMEOUT_MS, () => {
        const error = new Error("the server did not answer in time") as NodeJS.ErrnoException;
        error.code = "ETIMEDOUT";
        client.destroy(error);
      });
      client.on("error", (error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      });
      client.on("response", (res) => {
        res.on("end", () => signal?.removeEventListener("abort", onAbort));
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? "",
          headers: res.headers,
          body: res,
          text: (limit = 4096) => readText(res, limit),
        });
      });
      client.end(req.body);
    });
  }

  /** Closes every socket of this pool. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

async function readText(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of body) {
    // Keep draining after the limit so the socket can be reused.
    if (text.length < limit) text += decoder.decode(chunk, { stream: true });
  }
  return text.slice(0, limit);
}

/** Reads a header that may be repeated, as one string. */
export function headerValue(
  headers: HttpResponse["headers"],
  name: string,
): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}
