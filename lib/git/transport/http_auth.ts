/**
 * Which credentials the smart-HTTP transport sends, in git's order:
 * 1. `user:password` embedded in the URL;
 * 2. `DXP_GIT_TOKEN`, as HTTP Basic with the URL's user name or
 *    `x-access-token` (GitHub's documented token user; GitLab, Gitea and
 *    Bitbucket accept a token as the Basic password with any non-empty user);
 * 3. after a 401 only: `git credential fill` (when a git binary exists),
 *    one retry, then `approve` on success or `reject` on a second 401.
 * An explicit credential (1 or 2) that the server refuses is final.
 *
 * Credentials never travel over plain `http://` except to a loopback host.
 */
import { Buffer } from "node:buffer";
import { AuthError } from "../../errors/mod.ts";
import {
  credentialApprove,
  credentialFill,
  credentialFor,
  credentialReject,
  type GitCredential,
} from "../credentials.ts";
import type { TransportOptions } from "./types.ts";
import { percentDecode } from "../../util/percent.ts";

/** Default Basic user name sent with `DXP_GIT_TOKEN`. */
export const TOKEN_USER = "x-access-token";

const TROUBLESHOOTING = "See https://dvc.org/doc/user-guide/troubleshooting#git-auth";

type Source = "none" | "url" | "token" | "helper";

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** True when credentials may be sent to `url` (https, or http to loopback). */
export function mayCarryCredentials(url: URL): boolean {
  return url.protocol === "https:" || isLoopbackHost(url.hostname);
}

/** DVC's text for a refused login. */
export function authFailedError(displayUrl: string): AuthError {
  return new AuthError(`Authentication failed for: '${displayUrl}'\n${TROUBLESHOOTING}`);
}

/** The refusal to send credentials in clear text. */
export function plainHttpError(displayUrl: string): AuthError {
  return new AuthError(
    `Refusing to send credentials to '${displayUrl}' over plain http; use an https:// URL.`,
  );
}

/** Credential state shared by every session of one transport. */
export class HttpAuth {
  readonly #url: URL;
  readonly #displayUrl: string;
  readonly #options: TransportOptions;
  #source: Source = "none";
  #username: string | undefined;
  #password: string | undefined;
  #helperCred: GitCredential | undefined;
  #helperTried = false;
  #approved = false;

  /** `url` still holds its user info; it is never shown. */
  constructor(url: URL, displayUrl: string, options: TransportOptions) {
    this.#url = url;
    this.#displayUrl = displayUrl;
    this.#options = options;
    const user = percentDecode(url.username);
    const password = percentDecode(url.password);
    const token = options.env["DXP_GIT_TOKEN"];
    if (url.password !== "") {
      // The user explicitly wants these sent: refuse now, before any request.
      if (!mayCarryCredentials(url)) throw plainHttpError(displayUrl);
      this.#set("url", user, password);
    } else if (token !== undefined && token !== "" && mayCarryCredentials(url)) {
      this.#set("token", user === "" ? TOKEN_USER : user, token);
    }
  }

  #set(source: Source, username: string, password: string): void {
    this.#source = source;
    this.#username = username;
    this.#password = password;
  }

  /** Where the current credentials came from ("none" before any). */
  get source(): Source {
    return this.#source;
  }

  /** The Authorization header for a request to `target` (only to the remote's own origin). */
  header(target: URL): string | undefined {
    if (this.#username === undefined || this.#password === undefined) return undefined;
    if (target.origin !== this.#url.origin) return undefined;
    const basic = Buffer.from(`${this.#username}:${this.#password}`, "utf8").toString("base64");
    return `Basic ${basic}`;
  }

  /**
   * Called after a 401 from `target`. Returns true when new credentials were
   * obtained (from git's helpers) and the request should be retried once;
   * throws the final AuthError otherwise.
   */
  async onUnauthorized(target: URL): Promise<true> {
    if (this.#source === "helper") {
      await this.#reject();
      throw authFailedError(this.#displayUrl);
    }
    if (this.#source !== "none" || this.#helperTried || target.origin !== this.#url.origin) {
      throw authFailedError(this.#displayUrl);
    }
    if (!mayCarryCredentials(target)) throw plainHttpError(this.#displayUrl);
    this.#helperTried = true;
    const cred = await credentialFill(credentialFor(this.#url), this.#helperContext());
    if (cred?.username === undefined || cred.password === undefined) {
      throw authFailedError(this.#displayUrl);
    }
    this.#helperCred = cred;
    this.#set("helper", cred.username, cred.password);
    this.#options.onDebug?.(`http: retrying with credentials from git credential helpers`);
    return true;
  }

  /** Called after a request that carried credentials succeeded. */
  async onAccepted(): Promise<void> {
    if (this.#source !== "helper" || this.#approved || this.#helperCred === undefined) return;
    this.#approved = true;
    await credentialApprove(this.#helperCred, this.#helperContext());
  }

  async #reject(): Promise<void> {
    const cred = this.#helperCred;
    this.#helperCred = undefined;
    this.#username = undefined;
    this.#password = undefined;
    if (cred !== undefined) await credentialReject(cred, this.#helperContext());
  }

  #helperContext() {
    const onDebug = this.#options.onDebug;
    return {
      env: this.#options.env,
      cwd: this.#options.cwd,
      ...(onDebug === undefined ? {} : { onDebug }),
    };
  }
}
