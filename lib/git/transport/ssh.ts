/**
 * Git over the system ssh: `git-upload-pack '<path>'` / `git-receive-pack
 * '<path>'` as the remote command, one ssh process per session.
 */
import type { GitUrl } from "./url.ts";
import { shellCommand } from "../../util/shell.ts";
import { resolveSshCommand, shellQuote, sshArguments, type SshCommand } from "./ssh_command.ts";
import { spawnSshConnection } from "./ssh_process.ts";
import {
  readUploadPackAdvertisement,
  type StreamConnection,
  streamFetchSession,
  streamPushSession,
} from "./session_stream.ts";
import type {
  Advertisement,
  FetchSession,
  ListRefsOptions,
  PushSession,
  Transport,
  TransportOptions,
} from "./types.ts";

type SshUrl = Extract<GitUrl, { kind: "ssh" }>;

/** The URL for display: a password in `ssh://user:pass@host` is hidden. */
function displayOf(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^/@:]*):[^/@]*@/i, "$1:***@");
}

/**
 * Transport for `ssh://`, `git+ssh://` and scp-like URLs.
 *
 * @example
 * ```ts
 * const t = createSshTransport(parseGitUrl("git@host:repo.git", cwd) as SshUrl, "git@host:repo.git", options);
 * const adv = await t.listRefs({ prefixes: ["refs/exps/"] });
 * ```
 */
export function createSshTransport(
  target: SshUrl,
  url: string,
  options: TransportOptions,
): Transport {
  const displayUrl = displayOf(url);
  const authTarget = `${target.user === undefined ? "" : `${target.user}@`}${target.host}:${
    target.port ?? 22
  }`;

  function connect(
    service: "git-upload-pack" | "git-receive-pack",
    signal?: AbortSignal,
  ): StreamConnection {
    const cmd: SshCommand = resolveSshCommand(options);
    const v2 = service === "git-upload-pack";
    const args = sshArguments(cmd, target, `${service} ${shellQuote(target.path)}`, v2);
    // GIT_PROTOCOL reaches the server only through SendEnv + AcceptEnv; without it the server speaks v0.
    const env = { ...options.env, GIT_PROTOCOL: v2 ? "version=2" : undefined };
    const [program, programArgs] = cmd.shell
      ? shellCommand(cmd.command, args)
      : [cmd.command, args];
    return spawnSshConnection({
      program,
      args: programArgs,
      env,
      signal,
      onDebug: options.onDebug,
      context: { displayUrl, authTarget, program: cmd.command, programSource: cmd.source },
    });
  }

  async function openFetch(list: ListRefsOptions = {}): Promise<FetchSession> {
    const conn = connect("git-upload-pack", list.signal);
    let advertisement: Advertisement;
    try {
      advertisement = await readUploadPackAdvertisement(conn, list.prefixes);
    } catch (e) {
      await conn.finish().catch(() => undefined);
      throw e;
    }
    return streamFetchSession(conn, advertisement, displayUrl);
  }

  return {
    displayUrl,
    async listRefs(list: ListRefsOptions = {}): Promise<Advertisement> {
      const session = await openFetch(list);
      try {
        return session.advertisement;
      } finally {
        await session.close();
      }
    },
    openFetch,
    async openPush(push: { signal?: AbortSignal } = {}): Promise<PushSession> {
      const conn = connect("git-receive-pack", push.signal);
      try {
        return await streamPushSession(conn);
      } catch (e) {
        await conn.finish().catch(() => undefined);
        throw e;
      }
    },
  };
}
