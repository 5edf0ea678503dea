/**
 * HTTP proxies as git (curl) finds them: `http.proxy` from Git config, else
 * `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy` (lower case only,
 * like curl) for http URLs, then `all_proxy`/`ALL_PROXY`; `no_proxy` /
 * `NO_PROXY` lists hosts that go direct. Only `http://` proxies are
 * supported: https targets go through a CONNECT tunnel, http targets are
 * requested with the absolute URL.
 */
import { Buffer } from "node:buffer";
import type net from "node:net";
import type tls from "node:tls";
import { lazyBuiltin } from "../../util/builtin.ts";
import { AuthError, GitRemoteError } from "../../errors/mod.ts";
import { redactUrl } from "../../util/redact.ts";
import type { HttpTlsSettings } from "./http_tls.ts";
import type { TransportOptions } from "./types.ts";
import { percentDecode } from "../../util/percent.ts";

const netModule = lazyBuiltin<typeof net>("node:net");
const tlsModule = lazyBuiltin<typeof tls>("node:tls");

/** The proxy to use for `target`, or undefined to connect directly. */
export function proxyFor(target: URL, options: TransportOptions): URL | undefined {
  const env = options.env;
  const pick = (...values: (string | undefined)[]) =>
    values.find((v) => v !== undefined && v !== "");
  const configured = pick(
    options.gitConfig("http.proxy"),
    target.protocol === "https:" ? pick(env["https_proxy"], env["HTTPS_PROXY"]) : env["http_proxy"],
    env["all_proxy"],
    env["ALL_PROXY"],
  );
  if (configured === undefined) return undefined;
  if (bypassed(target.hostname, pick(env["no_proxy"], env["NO_PROXY"]))) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(configured)
    ? configured
    : `http://${configured}`;
  let proxy: URL;
  try {
    proxy = new URL(withScheme);
  } catch {
    throw new GitRemoteError(`The proxy setting '${redactUrl(configured)}' is not a valid URL.`);
  }
  if (proxy.protocol !== "http:") {
    throw new GitRemoteError(
      `The proxy '${
        redactUrl(proxy.href)
      }' uses '${proxy.protocol}//', which dxp does not support; use an http:// proxy.`,
    );
  }
  return proxy;
}

/** curl's no_proxy: `*`, or host names / domain suffixes (a leading dot is optional). */
function bypassed(hostname: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return noProxy.split(",").map((e) => e.trim().toLowerCase()).some((entry) => {
    if (entry === "") return false;
    if (entry === "*") return true;
    const domain = entry.replace(/^\*?\./, "").replace(/:\d+$/, "");
    return host === domain || host.endsWith(`.${domain}`);
  });
}

/** `Proxy-Authorization` for a proxy URL with user info. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === "") return undefined;
  const user = percentDecode(proxy.username);
  const password = percentDecode(proxy.password);
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/** Opens a CONNECT tunnel through `proxy` to `target` and starts TLS on it. */
export function openTlsTunnel(
  proxy: URL,
  target: URL,
  settings: HttpTlsSettings,
  signal: AbortSignal | undefined,
): Promise<tls.TLSSocket> {
  const port = target.port === "" ? "443" : target.port;
  const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const authority = netModule().isIPv6(hostname) ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  const shown = redactUrl(proxy.href).replace(/\/$/, "");
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const socket = netModule().connect(Number(proxy.port === "" ? 80 : proxy.port), proxy.hostname);
    const fail = (error: unknown) => {
      socket.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("connect", () => {
      const auth = proxyAuthorization(proxy);
      socket.write(
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n` +
          (auth === undefined ? "" : `Proxy-Authorization: ${auth}\r\n`) + "\r\n",
      );
    });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString("latin1"))?.[1] ?? 0);
      if (status === 407) {
        return fail(new AuthError(`Proxy authentication failed for: '${shown}'`));
      }
      if (status !== 200) {
        return fail(
          new GitRemoteError(
            `The proxy '${shown}' refused to connect to '${authority}' (HTTP ${status}).`,
          ),
        );
      }
      const options: tls.ConnectionOptions = {
        socket,
        host: hostname,
        rejectUnauthorized: settings.rejectUnauthorized,
      };
      // SNI takes host names only, never IP addresses.
      if (netModule().isIP(hostname) === 0) options.servername = hostname;
      if (settings.ca !== undefined) options.ca = [...settings.ca];
      const secure = tlsModule().connect(options);
      secure.once("secureConnect", () => {
        signal?.removeEventListener("abort", onAbort);
        socket.off("error", fail);
        secure.off("error", fail);
        resolve(secure);
      });
      secure.once("error", fail);
    };
    socket.on("data", onData);
  });
}
