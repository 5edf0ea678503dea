import { readFileSync } from "node:fs";
import { ConfigError, DxpError, StoreError } from "../errors/mod.ts";
import { redactUrl } from "../util/redact.ts";
import { errnoCode } from "./errors.ts";
import { abortError } from "./abort.ts";

/** Time limits and TLS settings of an HTTP-based remote (S3, HTTP). */
export interface HttpLimits {
  /** Limit for getting response headers, plus the time the request body may take. */
  readonly connectTimeoutMs: number;
  /** Limit for the response headers after connecting, and for each pause in a body. */
  readonly readTimeoutMs: number;
  /** ssl_verify=false, or a CA bundle file. */
  readonly tls?: { readonly rejectUnauthorized: boolean; readonly caFile?: string } | undefined;
}

/** Request bodies are allowed this rate at least before the header deadline fires. */
const SLOWEST_UPLOAD_BYTES_PER_SECOND = 64 * 1024;

/**
 * `fetch` with the remote's time limits: the response headers must arrive
 * within connect + read timeout (plus time to send the body at a slow rate).
 * A 3xx answer is returned as it is, never followed.
 * A user abort rethrows the signal's reason; a timeout or a network failure
 * becomes a transient StoreError naming `action` and `where`.
 */
export async function fetchWithLimits(
  url: string,
  init: RequestInit & { duplex?: "half" },
  limits: HttpLimits,
  context: {
    readonly action: string;
    readonly where: string;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<Response> {
  const bodyBytes = init.body instanceof Uint8Array ? init.body.byteLength : 0;
  const limitMs = limits.connectTimeoutMs + limits.readTimeoutMs +
    Math.ceil((bodyBytes / SLOWEST_UPLOAD_BYTES_PER_SECOND) * 1000);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), limitMs);
  const signal = context.signal
    ? AbortSignal.any([context.signal, deadline.signal])
    : deadline.signal;
  try {
    // Redirects are never followed here: fetch would replay every header but
    // Authorization to another host (S3 session tokens, SSE-C keys, custom
    // auth headers). A store that must follow one does it itself (http.ts).
    return await fetch(
      url,
      { ...init, redirect: "manual", signal, ...tlsInit(limits.tls) } as RequestInit,
    );
  } catch (error) {
    throw classifyFetchFailure(error, context, deadline.signal, limitMs);
  } finally {
    clearTimeout(timer);
  }
}

/** The error to throw for a failed fetch or body read. */
export function classifyFetchFailure(
  error: unknown,
  context: {
    readonly action: string;
    readonly where: string;
    readonly signal?: AbortSignal | undefined;
  },
  deadline: AbortSignal | undefined,
  limitMs: number,
): unknown {
  if (context.signal?.aborted) return abortError(context.signal);
  if (deadline?.aborted) return timeoutError(context, limitMs);
  if (error instanceof DxpError) return error;
  const detail = networkDetail(error);
  const where = redactUrl(context.where);
  const data = { where, errno: errnoCode(error) ?? errnoCode(causeOf(error)) };
  if (TLS_FAILURE.test(detail)) {
    return new StoreError(
      `Failed to ${context.action} at '${where}': the server's TLS certificate is not trusted ` +
        `(${detail}); set the remote's ssl_verify to a CA bundle path, or to false.`,
      { cause: error, data: { ...data, tls: true } },
    );
  }
  if (DNS_FAILURE.test(detail) || data.errno === "ENOTFOUND") {
    return new StoreError(
      `Failed to ${context.action} at '${where}': the host name does not resolve (${detail}); ` +
        "check the remote URL.",
      { cause: error, data },
    );
  }
  return new StoreError(
    `Failed to ${context.action} at '${where}': ${detail}; retry later.`,
    { cause: error, transient: true, data },
  );
}

const TLS_FAILURE = /certificate|CERT_|SSL|TLS|handshake/i;
const DNS_FAILURE = /ENOTFOUND|failed to lookup address|Name or service not known|getaddrinfo/i;

/**
 * A short reason for a network failure. Deno says "fetch failed" and puts the
 * reason in `cause`; the request URL is cut out of it (it may carry a query token).
 */
function networkDetail(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 4; e = causeOf(e), depth++) {
    const message = e instanceof Error ? e.message : typeof e === "string" ? e : "";
    const code = errnoCode(e);
    if (message && message !== "fetch failed") parts.push(message);
    if (code && !parts.some((p) => p.includes(code))) parts.push(code);
  }
  const text = withoutUrlQueries(
    parts.join(": ").replace(/ for url \(\S*?\)(?=:|$)/g, ""),
  ).replace(/\s+/g, " ").trim();
  return redactUrl(text === "" ? "connection failed" : text.slice(0, 300));
}

/**
 * Any URL left in a message loses its query and fragment: they may carry a
 * token (an Azure SAS, a presigned signature). A query holding `)` defeated
 * the cut of Deno's "for url (…)" and reached the error message.
 */
function withoutUrlQueries(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#]\S*/gi, "$1");
}

function causeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { cause?: unknown }).cause
    : undefined;
}

export function timeoutError(
  context: { readonly action: string; readonly where: string },
  limitMs: number,
): StoreError {
  return new StoreError(
    `Failed to ${context.action} at '${redactUrl(context.where)}': no answer within ` +
      `${Math.round(limitMs / 1000)} s; retry later or raise read_timeout.`,
    { transient: true, data: { where: redactUrl(context.where), timeout: true } },
  );
}

const caCache = new Map<string, string>();

/**
 * TLS options for the fetch call. Bun's fetch reads `tls` (ca,
 * rejectUnauthorized); Deno's ignores the field (use DENO_CERT or
 * --unsafely-ignore-certificate-errors there). The shipped binary is Bun's.
 */
function tlsInit(tls: HttpLimits["tls"]): Record<string, unknown> {
  if (tls === undefined) return {};
  const options: Record<string, unknown> = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.caFile !== undefined) {
    let ca = caCache.get(tls.caFile);
    if (ca === undefined) {
      try {
        ca = readFileSync(tls.caFile, "utf8");
      } catch (error) {
        throw new ConfigError(
          `Cannot read the CA bundle '${tls.caFile}' (ssl_verify or AWS_CA_BUNDLE): check the path.`,
          { cause: error },
        );
      }
      caCache.set(tls.caFile, ca);
    }
    options["ca"] = ca;
  }
  return { tls: options };
}
