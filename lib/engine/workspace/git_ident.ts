import { appendFile, mkdir } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { dirname, join } from "node:path";
import type { GitConfig } from "../../git/git_config.ts";

/** A Git author/committer as isomorphic-git writes it. */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  /** Minutes, with the sign of `Date.getTimezoneOffset()` (UTC+2 is -120). */
  readonly timezoneOffset: number;
}

/**
 * The committer git would use: `GIT_COMMITTER_NAME`/`_EMAIL`, else
 * `user.name`/`user.email`, else the login name at this host; now.
 */
export function committerIdentity(
  config: GitConfig,
  env: Readonly<Record<string, string | undefined>>,
  now: Date = new Date(),
): GitIdentity {
  let login = "dxp";
  try {
    login = userInfo().username || login;
  } catch {
    // no passwd entry (containers): keep the default
  }
  const name = env["GIT_COMMITTER_NAME"] ?? config.get("user.name") ?? login;
  const email = env["GIT_COMMITTER_EMAIL"] ?? config.get("user.email") ?? `${login}@${hostname()}`;
  return {
    name,
    email,
    timestamp: Math.floor(now.getTime() / 1000),
    timezoneOffset: now.getTimezoneOffset(),
  };
}

/**
 * Appends a reflog line for `ref` (`logs/<ref>`), as git does when it
 * moves a ref: `<old> <new> <name> <<email>> <time> <±hhmm>\t<message>`.
 */
export async function appendReflog(
  gitdir: string,
  ref: string,
  oldOid: string,
  newOid: string,
  ident: GitIdentity,
  message: string,
): Promise<void> {
  const offset = -ident.timezoneOffset;
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const tz = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${
    String(abs % 60).padStart(2, "0")
  }`;
  const line = `${oldOid} ${newOid} ${ident.name} <${ident.email}> ${ident.timestamp} ${tz}\t${
    message.split("\n")[0]
  }\n`;
  const path = join(gitdir, "logs", ...ref.split("/"));
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, line);
}
