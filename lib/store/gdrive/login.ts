import { createHash, randomBytes } from "node:crypto";
import type http from "node:http";
import { lazyBuiltin } from "../../util/builtin.ts";
import type { AddressInfo } from "node:net";
import { AuthError, ConfigError } from "../../errors/mod.ts";
import { abortError } from "../abort.ts";
import { requestToken } from "../oauth_token.ts";
import { GOOGLE_TOKEN_URI } from "../google/credentials.ts";
import { credentialsJson, writeCredentialsFile } from "./credentials_file.ts";
import { DRIVE_SCOPES, DVC_CLIENT_ID, parseGDriveRemote } from "./options.ts";

const httpModule = lazyBuiltin<typeof http>("node:http");

type Env = Readonly<Record<string, string | undefined>>;

const GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth";
/** PyDrive2's loopback ports, in its order; then any free port. */
const DEFAULT_PORTS = [8080, 8090, 0];

/** How the login talks to the person at the keyboard (the CLI supplies it). */
export interface LoginIo {
  /** Told once the loopback server listens: the URL to open and where the browser lands. */
  onUrl(info: {
    readonly url: string;
    readonly redirectUri: string;
    readonly port: number;
    /** True with DVC's built-in OAuth client, which Google blocks for new sign-ins. */
    readonly dvcClient: boolean;
  }): void;
  /** Lines typed by the user: a pasted redirect address (or the bare code). */
  readonly lines?: AsyncIterable<string> | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Loopback ports to try (0 = any free one); default 8080, 8090, any. */
  readonly ports?: readonly number[] | undefined;
}

export interface LoginResult {
  /** Where the credentials were saved (PyDrive2's cache path or gdrive_user_credentials_file). */
  readonly path: string;
}

/**
 * Google's installed-app OAuth flow for a Drive remote, usable on a server
 * without a browser: a loopback HTTP server (127.0.0.1 and ::1, port 8080 or
 * 8090 as PyDrive2, reachable through `ssh -L`) receives the redirect, or the
 * user pastes the address the browser ended on (when the page could not
 * load). State and PKCE guard the exchange. The credentials are saved where
 * and how DVC saves them, so DVC and dxp share them.
 */
export async function gdriveLogin(
  url: string,
  options: Readonly<Record<string, string>>,
  env: Env,
  io: LoginIo,
): Promise<LoginResult> {
  const config = parseGDriveRemote(url, options, env);
  const { auth } = config;
  if (auth.kind !== "user") {
    throw new ConfigError(
      `GDrive remote '${config.displayUrl}' uses a service account: it needs no login.`,
    );
  }
  if (auth.credentials.kind === "env") {
    throw new ConfigError(
      "GDRIVE_CREDENTIALS_DATA is set and would be used instead of a login: unset it first.",
    );
  }
  const path = auth.credentials.path;
  const tokenUri = env["DXP_GDRIVE_TOKEN_URI"]?.trim() || GOOGLE_TOKEN_URI;
  const state = randomBytes(16).toString("hex");
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");

  const loopback = await listen(io.ports ?? DEFAULT_PORTS);
  try {
    const redirectUri = `http://localhost:${loopback.port}/`;
    const authUrl = new URL(env["DXP_GDRIVE_AUTH_URI"]?.trim() || GOOGLE_AUTH_URI);
    for (
      const [name, value] of [
        ["client_id", auth.clientId],
        ["redirect_uri", redirectUri],
        ["scope", DRIVE_SCOPES.join(" ")],
        ["access_type", "offline"],
        ["response_type", "code"],
        ["prompt", "consent"],
        ["state", state],
        ["code_challenge", challenge],
        ["code_challenge_method", "S256"],
      ]
    ) authUrl.searchParams.set(name!, value!);
    io.onUrl({
      url: authUrl.href,
      redirectUri,
      port: loopback.port,
      dvcClient: auth.clientId === DVC_CLIENT_ID,
    });
    const code = await firstCode(loopback, io, state);
    const answer = await requestToken(tokenUri, {
      grant_type: "authorization_code",
      code,
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }, {
      action: "exchange the authorization code",
      remote: config.displayUrl,
      advice: "start 'dxp remote login' again (a code works once, for a few minutes)",
      limits: { connectTimeoutMs: 30_000, readTimeoutMs: 30_000, tls: config.tls },
      signal: io.signal,
    });
    const refresh = answer.body["refresh_token"];
    if (typeof refresh !== "string" || refresh === "") {
      throw new AuthError(
        "Google returned no refresh token: remove dxp's access at " +
          "https://myaccount.google.com/permissions and log in again.",
      );
    }
    await writeCredentialsFile(
      path,
      credentialsJson({
        accessToken: answer.token.token,
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        refreshToken: refresh,
        tokenExpiry: answer.token.expiresAt,
        tokenUri,
        invalid: false,
      }, answer.body),
    );
    return { path };
  } finally {
    await loopback.close();
  }
}

interface Loopback {
  readonly port: number;
  /** Resolves with the query of the first request to `/`. */
  readonly redirect: Promise<URLSearchParams>;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (and ::1, when there is IPv6) at the first free port of `ports`. */
async function listen(ports: readonly number[]): Promise<Loopback> {
  let deliver: (query: URLSearchParams) => void = () => {};
  const redirect = new Promise<URLSearchParams>((resolve) => (deliver = resolve));
  const handler: http.RequestListener = (req, res) => {
    const query = new URL(req.url ?? "/", "http://localhost").searchParams;
    if (!query.has("code") && !query.has("error")) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Not the page you are looking for.\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      query.has("code")
        ? "<p>The authentication flow has completed. You may close this window.</p>"
        : "<p>Access was not granted. You may close this window.</p>",
    );
    deliver(query);
  };
  const servers: http.Server[] = [];
  const open = (port: number, host: string) =>
    new Promise<http.Server>((resolve, reject) => {
      const server = httpModule().createServer(handler);
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  let port = -1;
  for (const candidate of ports) {
    try {
      const server = await open(candidate, "127.0.0.1");
      servers.push(server);
      port = (server.address() as AddressInfo).port;
      break;
    } catch {
      // taken: the next one
    }
  }
  if (port < 0) {
    throw new ConfigError(
      `Cannot listen on localhost port ${ports.join(" or ")} for the login: free one of them ` +
        "or choose another with --port.",
    );
  }
  try {
    servers.push(await open(port, "::1")); // `localhost` may resolve to ::1 (ssh -L, browsers)
  } catch {
    // no IPv6 loopback here
  }
  return {
    port,
    redirect,
    close: () =>
      Promise.all(servers.map((server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        })
      )).then(() => {}),
  };
}

/**
 * The authorization code: from the redirect to the loopback server, or from a
 * pasted line (the browser's address, or the code itself), whichever comes first.
 */
async function firstCode(loopback: Loopback, io: LoginIo, state: string): Promise<string> {
  const fromQuery = (query: URLSearchParams): string => {
    const error = query.get("error");
    if (error !== null) {
      throw new AuthError(`Google did not grant access (${error}): start the login again.`);
    }
    if (query.get("state") !== null && query.get("state") !== state) {
      throw new AuthError(
        "The redirect does not belong to this login (its state differs): start the login again.",
      );
    }
    return query.get("code")!;
  };
  const pasted = (async () => {
    if (io.lines === undefined) return await new Promise<never>(() => {});
    for await (const raw of io.lines) {
      const line = raw.trim();
      if (line === "") continue;
      if (/^https?:\/\//i.test(line)) {
        const query = new URL(line).searchParams;
        if (query.has("code") || query.has("error")) return fromQuery(query);
        continue;
      }
      return line; // the bare code
    }
    return await new Promise<never>(() => {}); // input closed: keep waiting for the browser
  })();
  const aborted = new Promise<never>((_resolve, reject) => {
    if (io.signal === undefined) return;
    if (io.signal.aborted) reject(abortError(io.signal));
    io.signal.addEventListener("abort", () => reject(abortError(io.signal!)), { once: true });
  });
  return await Promise.race([loopback.redirect.then(fromQuery), pasted, aborted]);
}
