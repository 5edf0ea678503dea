/**
 * Git remote URL parsing with git's own rules: `scheme://` URLs, scp-like
 * `[user@]host:path` (a colon before any slash), and local paths.
 */
import { isAbsolute, resolve } from "node:path";
import { InvalidArgumentError } from "../../errors/mod.ts";

export type GitUrl =
  | { kind: "ssh"; user?: string; host: string; port?: number; path: string }
  | { kind: "local"; path: string }
  | { kind: "http"; url: URL };

function notValid(url: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`'${url}' is not a valid Git remote or URL: ${why}.`);
}

function sshUrl(
  original: string,
  userInfo: string | undefined,
  host: string,
  port: string | undefined,
  path: string,
): GitUrl {
  const user = userInfo;
  // A value starting with "-" would be read by ssh as an option (e.g. -oProxyCommand=…).
  if (host === "" || host.startsWith("-")) {
    throw notValid(original, `the host '${host}' is not allowed`);
  }
  if (user !== undefined && (user === "" || user.startsWith("-"))) {
    throw notValid(original, `the user name '${user}' is not allowed`);
  }
  if (path === "" || path.startsWith("-")) {
    throw notValid(original, `the path '${path}' is not allowed`);
  }
  let portNumber: number | undefined;
  if (port !== undefined && port !== "") {
    portNumber = Number(port);
    if (!/^\d+$/.test(port) || portNumber < 1 || portNumber > 65535) {
      throw notValid(original, `the port '${port}' is not a number between 1 and 65535`);
    }
  }
  const parsed: { kind: "ssh"; user?: string; host: string; port?: number; path: string } = {
    kind: "ssh",
    host,
    path,
  };
  if (user !== undefined) parsed.user = user;
  if (portNumber !== undefined) parsed.port = portNumber;
  return parsed;
}

/** Splits `[user@]host[:port]` (host may be `[ipv6]`). */
function splitAuthority(authority: string): { user?: string; host: string; port?: string } {
  const at = authority.lastIndexOf("@");
  const user = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  let host = hostPort;
  let port: string | undefined;
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    host = hostPort.slice(1, close < 0 ? undefined : close);
    const rest = close < 0 ? "" : hostPort.slice(close + 1);
    if (rest.startsWith(":")) port = rest.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(":");
    if (colon >= 0) {
      host = hostPort.slice(0, colon);
      port = hostPort.slice(colon + 1);
    }
  }
  const out: { user?: string; host: string; port?: string } = { host };
  if (user !== undefined) out.user = user;
  if (port !== undefined) out.port = port;
  return out;
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseSshUrl(url: string, rest: string): GitUrl {
  const slash = rest.indexOf("/");
  if (slash < 0) throw notValid(url, "it has no repository path");
  const { user, host, port } = splitAuthority(rest.slice(0, slash));
  let path = rest.slice(slash);
  // ssh://host/~user/repo means "~user/repo" (relative to that home), as in git.
  if (path.startsWith("/~")) path = path.slice(1);
  return sshUrl(url, user, host, port, path);
}

/** Index of the first colon outside `[...]`, or -1. */
function scpColon(url: string): number {
  let depth = 0;
  for (let i = 0; i < url.length; i++) {
    const c = url[i];
    if (c === "[") depth++;
    else if (c === "]") depth = Math.max(0, depth - 1);
    else if (c === ":" && depth === 0) return i;
  }
  return -1;
}

/**
 * Parses a Git remote URL. Relative local paths resolve against `cwd`.
 *
 * @example
 * ```ts
 * parseGitUrl("git@example.com:team/repo.git", "/"); // {kind:"ssh", user:"git", host:"example.com", path:"team/repo.git"}
 * ```
 */
export function parseGitUrl(url: string, cwd: string): GitUrl {
  if (url === "") throw new InvalidArgumentError("The Git remote URL is empty.");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const rest = url.slice(scheme.length + 3);
    if (scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git") {
      // git url-decodes the whole ssh URL, so "%2d" is a "-" as far as ssh is concerned.
      return parseSshUrl(url, percentDecode(rest));
    }
    if (scheme === "file") {
      const slash = rest.indexOf("/");
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (host !== "" && host !== "localhost") {
        throw notValid(url, "a file:// URL cannot name another host");
      }
      return { kind: "local", path: slash < 0 ? "/" : rest.slice(slash) };
    }
    if (scheme === "http" || scheme === "https") {
      try {
        return { kind: "http", url: new URL(url) };
      } catch (e) {
        throw new InvalidArgumentError(`'${url}' is not a valid Git remote or URL.`, { cause: e });
      }
    }
    if (scheme === "git") {
      throw new InvalidArgumentError(
        `The git:// protocol of '${url}' is not supported; use an ssh:// or https:// URL of that repository.`,
      );
    }
    throw new InvalidArgumentError(`The '${scheme}://' scheme of '${url}' is not supported.`);
  }
  // scp-like syntax: a colon before the first slash, and not a drive letter ("C:\x", "C:/x").
  const colon = scpColon(url);
  const slash = url.indexOf("/");
  const isDrive = /^[A-Za-z]:([\\/]|$)/.test(url);
  if (colon > 0 && (slash < 0 || colon < slash) && !isDrive) {
    const authority = url.slice(0, colon);
    const path = url.slice(colon + 1);
    const at = authority.lastIndexOf("@");
    let user = at >= 0 ? authority.slice(0, at) : undefined;
    let host = at >= 0 ? authority.slice(at + 1) : authority;
    let port: string | undefined;
    if (authority.startsWith("[") && authority.endsWith("]")) {
      const inner = authority.slice(1, -1);
      if (inner.split(":").length === 2) {
        // [user@host:port]:path
        const parts = splitAuthority(inner);
        user = parts.user;
        host = parts.host;
        port = parts.port;
      } else {
        user = undefined;
        host = inner; // [ipv6]:path
      }
    } else if (host.startsWith("[") && host.endsWith("]")) {
      host = host.slice(1, -1); // user@[ipv6]:path
    }
    return sshUrl(url, user, host, port, path);
  }
  return { kind: "local", path: isAbsolute(url) ? url : resolve(cwd, url) };
}
