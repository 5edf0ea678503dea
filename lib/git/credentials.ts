/**
 * Git's credential protocol through the `git credential` command, so every
 * helper the user configured (store, cache, libsecret, osxkeychain, manager,
 * a shell function…) answers exactly as it does for `git fetch`.
 *
 * Only used when a `git` binary exists; without one the caller simply has no
 * credentials to offer.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { redactUrl } from "../util/redact.ts";
import { percentDecode } from "../util/percent.ts";
import { concatBytes } from "../util/bytes.ts";
import { childSettled } from "../util/child_exit.ts";

/** One credential as git describes it (`key=value` lines). */
export interface GitCredential {
  readonly protocol: string;
  /** Host, with `:port` when the URL has a non-default port. */
  readonly host: string;
  /** URL path without the leading slash (git drops it unless credential.useHttpPath). */
  readonly path?: string;
  readonly username?: string;
  readonly password?: string;
}

/** Where and how `git credential` runs. */
export interface CredentialContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Repository folder, so repo-local `credential.helper` settings apply. */
  readonly cwd: string;
  /** Allow git to prompt on the terminal (default: when stdin is a TTY). */
  readonly interactive?: boolean;
  /** Receives debug lines (never secrets). */
  readonly onDebug?: (line: string) => void;
}

/** The credential request for a URL: protocol, host[:port], path; username if the URL has one. */
export function credentialFor(url: URL): GitCredential {
  const protocol = url.protocol.replace(/:$/, "");
  const host = url.port === "" ? url.hostname : `${url.hostname}:${url.port}`;
  const path = percentDecode(url.pathname.replace(/^\//, ""));
  const username = percentDecode(url.username);
  return {
    protocol,
    host,
    ...(path === "" ? {} : { path }),
    ...(username === "" ? {} : { username }),
  };
}

/** Serialises a credential for `git credential` (blank line at the end). */
export function formatCredential(cred: GitCredential): string {
  const lines: string[] = [];
  const add = (key: string, value: string | undefined) => {
    if (value === undefined) return;
    // git refuses values with newlines or NULs; never send a half-valid request.
    if (/[\n\0]/.test(value)) throw new RangeError(`credential ${key} contains a newline`);
    lines.push(`${key}=${value}`);
  };
  add("protocol", cred.protocol);
  add("host", cred.host);
  add("path", cred.path);
  add("username", cred.username);
  add("password", cred.password);
  return `${lines.join("\n")}\n\n`;
}

/** Parses `key=value` lines from `git credential fill`. */
export function parseCredential(text: string, request: GitCredential): GitCredential {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const username = values.get("username") ?? request.username;
  const password = values.get("password");
  const path = values.get("path") ?? request.path;
  return {
    protocol: values.get("protocol") ?? request.protocol,
    host: values.get("host") ?? request.host,
    ...(path === undefined ? {} : { path }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/**
 * Asks git's credential helpers for a username and password. Returns
 * undefined when there is no git binary, no helper had an answer and no
 * prompt was allowed, or the answer has no password.
 */
export async function credentialFill(
  request: GitCredential,
  ctx: CredentialContext,
): Promise<GitCredential | undefined> {
  const result = await runGitCredential("fill", formatCredential(request), ctx);
  if (result === undefined || result.code !== 0) return undefined;
  const cred = parseCredential(result.stdout, request);
  if (cred.username === undefined || cred.password === undefined) return undefined;
  return cred;
}

/** Tells the helpers a credential worked (helpers may store it). */
export async function credentialApprove(cred: GitCredential, ctx: CredentialContext) {
  await runGitCredential("approve", formatCredential(cred), ctx);
}

/** Tells the helpers a credential was rejected (helpers may erase it). */
export async function credentialReject(cred: GitCredential, ctx: CredentialContext) {
  await runGitCredential("reject", formatCredential(cred), ctx);
}

interface GitResult {
  code: number;
  stdout: string;
}

/** Runs `git credential <action>`; undefined when git is not installed. */
function runGitCredential(
  action: "fill" | "approve" | "reject",
  input: string,
  ctx: CredentialContext,
): Promise<GitResult | undefined> {
  const interactive = ctx.interactive ?? process.stdin.isTTY === true;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.env)) {
    if (value !== undefined) env[key] = value;
  }
  if (!interactive) env["GIT_TERMINAL_PROMPT"] = "0";
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn("git", ["credential", action], {
        cwd: ctx.cwd,
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return resolve(undefined);
      return reject(error);
    }
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout.on("data", (chunk: Uint8Array) => out.push(chunk));
    child.stderr.on("data", (chunk: Uint8Array) => err.push(chunk));
    child.stdin.on("error", () => {/* git exited early; its exit code tells */});
    let failed = false;
    child.on("error", (error: NodeJS.ErrnoException) => {
      failed = true;
      if (error.code === "ENOENT") {
        ctx.onDebug?.("git credential: no git binary found; no credential helper used");
        resolve(undefined);
      } else {
        reject(error);
      }
    });
    // A helper that starts a daemon (credential-cache) may leave it holding the pipes.
    void childSettled(child).then(({ code }) => {
      if (failed) return;
      const stderr = redactUrl(
        new TextDecoder().decode(concatBytes(err)).trim().split("\n")[0] ?? "",
      );
      ctx.onDebug?.(
        `git credential ${action}: exit ${code ?? "signal"}${stderr === "" ? "" : ` (${stderr})`}`,
      );
      resolve({ code: code ?? 128, stdout: new TextDecoder().decode(concatBytes(out)) });
    });
    child.stdin.end(input);
  });
}
