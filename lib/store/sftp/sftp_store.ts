/**
 * A DVC remote reached with the system `ssh` and spoken to in SFTP v3:
 * `ssh://[user@]host[:port]/path`. Because OpenSSH makes the connection,
 * `~/.ssh/config`, ProxyJump, agents, certificates and 2FA prompts work as
 * they do for the user's own ssh. One ssh process serves the whole command
 * (more only with `max_sessions`), with many requests in flight on it.
 */
import { posix } from "node:path";
import { parseObjectKey } from "../../core/object_key.ts";
import { UnsafePathError } from "../../errors/mod.ts";
import { throwIfAborted } from "../abort.ts";
import type { FailureContext } from "../errors.ts";
import { writeAtomic } from "../local_write.ts";
import type { Store, StoreContext, StoreFactory, TransferOptions } from "../types.ts";
import { type AskpassHelper, createAskpassHelper } from "./askpass.ts";
import { isDirectory } from "./packet.ts";
import { RemoteDirs } from "./remote_dirs.ts";
import { SessionPool } from "./session_pool.ts";
import type { SftpClient } from "./sftp_client.ts";
import { sftpChunks } from "./sftp_download.ts";
import { listTree } from "./sftp_list.ts";
import { isGenericFailure, isNoSuchFile, noSpaceError, sftpError } from "./sftp_errors.ts";
import { sftpUpload } from "./sftp_upload.ts";
import { sshLaunch } from "./ssh_launch.ts";
import { parseSshRemote, type SshRemote } from "./ssh_remote.ts";
import { SftpSession } from "./ssh_session.ts";

/** Knobs of the SFTP store (defaults measured on loopback and a LAN). */
export interface SftpTuning {
  /** ssh processes at most (the remote's `max_sessions` lowers it). */
  readonly sessions: number;
  /** Bytes per READ/WRITE request, capped by the server's `limits@openssh.com`. */
  readonly chunkSize: number;
  /** Requests in flight per transfer. */
  readonly window: number;
  /** Folders read at once by `list`. */
  readonly listJobs: number;
}

/**
 * Defaults, measured on a 2-core loopback (scripts/bench/sftp.sh): a second
 * session did not help (its handshake and the extra processes cost more than
 * they gave); 255 KiB requests (OpenSSH's own maximum) cost less CPU than
 * 32–64 KiB ones at the same speed; 16 of them keep ~4 MiB in flight per
 * transfer, enough for a long fat network without holding much memory.
 */
export const DEFAULT_SFTP_TUNING: SftpTuning = {
  sessions: 1,
  chunkSize: 255 * 1024,
  window: 16,
  listJobs: 8,
};

/** Bytes per request for servers that do not announce their limits (the SFTP draft's minimum). */
const SAFE_CHUNK = 32 * 1024;

/**
 * Builds the store of an `ssh://` DVC remote. Options (spec §5.6): `user`,
 * `port`, `keyfile` (`-i`), `timeout` (ConnectTimeout, seconds),
 * `allow_agent = false` (IdentityAgent=none), `gss_auth`, `password` and
 * `passphrase` (answered through SSH_ASKPASS, never written to disk),
 * `ask_password`/`ask_passphrase` (ssh prompts on the terminal itself),
 * `max_sessions`. The ssh program is `DXP_SSH_COMMAND` (a shell command
 * line taking OpenSSH's options), else `ssh`.
 *
 * @example
 * const store = createSftpStore("ssh://me@login.hpc.example/scratch/dvcstore", {}, { env: process.env });
 * await store.put("files/md5/37/b51d194a7513e45b56f6524f2d51f2", "bar", {});
 * await store.close();
 */
export const createSftpStore: StoreFactory = (url, options, context) =>
  new SftpStore(parseSshRemote(url, options), context);

export class SftpStore implements Store {
  readonly canList = true;
  readonly displayUrl: string;
  readonly #remote: SshRemote;
  readonly #context: StoreContext;
  readonly #tuning: SftpTuning;
  readonly #pool: SessionPool;
  readonly #dirs = new RemoteDirs();
  #askpass: Promise<AskpassHelper> | undefined;

  constructor(remote: SshRemote, context: StoreContext, tuning: Partial<SftpTuning> = {}) {
    this.#remote = remote;
    this.#context = context;
    this.#tuning = { ...DEFAULT_SFTP_TUNING, ...tuning };
    this.displayUrl = remote.displayUrl;
    const sessions = Math.min(this.#tuning.sessions, remote.maxSessions ?? Infinity);
    this.#pool = new SessionPool(() => this.#openSession(), sessions);
  }

  async #openSession(): Promise<SftpSession> {
    const needsAskpass = this.#remote.password !== undefined ||
      this.#remote.passphrase !== undefined;
    if (needsAskpass) this.#askpass ??= createAskpassHelper();
    const askpass = needsAskpass ? (await this.#askpass!).path : undefined;
    const session = await SftpSession.open({
      launch: sshLaunch(this.#remote, this.#context.env, askpass),
      env: this.#context.env,
      remote: this.#remote,
      onDebug: this.#context.onDebug,
    });
    await session.client.loadLimits().catch(() => undefined);
    return session;
  }

  async #client(): Promise<SftpClient> {
    return (await this.#pool.acquire()).client;
  }

  #chunk(limit: number | undefined): number {
    return Math.min(this.#tuning.chunkSize, limit ?? SAFE_CHUNK);
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    const path = this.#path(key);
    try {
      const client = await this.#client();
      const attrs = await client.statIfExists(path);
      return attrs !== undefined && !isDirectory(attrs);
    } catch (error) {
      throw sftpError(error, this.#context_(`check '${this.#shown(key)}'`, path));
    }
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    const slash = prefix.lastIndexOf("/");
    const folderKey = prefix.slice(0, slash + 1);
    const folder = folderKey === "" ? this.#remote.root : this.#path(folderKey.slice(0, -1));
    try {
      const client = await this.#client();
      yield* listTree(
        client,
        folder,
        folderKey,
        prefix.slice(slash + 1),
        this.#tuning.listJobs,
        signal,
      );
    } catch (error) {
      throw sftpError(error, this.#context_(`list '${this.#url(folder)}'`, folder));
    }
  }

  async put(key: string, localPath: string, options: TransferOptions): Promise<void> {
    const target = this.#path(key);
    throwIfAborted(options.signal);
    let session: SftpClient | undefined;
    try {
      const client = session = await this.#client();
      await sftpUpload(client, {
        localPath,
        target,
        isObject: parseObjectKey(key) !== undefined,
        options,
        chunkSize: this.#chunk(client.limits?.write),
        window: this.#tuning.window,
        ensureDir: (dir) => this.#dirs.ensure(client, dir),
        rename: (from, to) => this.#rename(client, from, to),
        readContext: { action: `read '${localPath}'`, where: localPath },
      });
    } catch (error) {
      // Messages are built only on failure: thousands of small uploads should not pay for them.
      const context = this.#context_(`upload '${localPath}' to '${this.#shown(key)}'`, target);
      if (session && isGenericFailure(error) && await this.#full(session, target, options.size)) {
        throw noSpaceError(error, context);
      }
      throw sftpError(error, context);
    }
  }

  async get(key: string, localPath: string, options: TransferOptions): Promise<void> {
    const source = this.#path(key);
    throwIfAborted(options.signal);
    const remoteContext = () => this.#context_(`download '${this.#shown(key)}'`, source);
    const client = await this.#client().catch((error) => {
      throw sftpError(error, remoteContext());
    });
    const chunks = sftpChunks(client, {
      path: source,
      chunkSize: this.#chunk(client.limits?.read),
      window: this.#tuning.window,
      signal: options.signal,
      label: `'${this.#shown(key)}'`,
    });
    await writeAtomic(localPath, mapErrors(chunks, remoteContext), {
      expect: options.expect,
      signal: options.signal,
      onBytes: options.onBytes,
      context: { action: `write '${localPath}'`, where: localPath },
      sourceLabel: `Object '${key}' in '${this.displayUrl}'`,
    });
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const path = this.#path(key);
    try {
      const client = await this.#client();
      await client.remove(path);
    } catch (error) {
      if (isNoSuchFile(error)) return;
      throw sftpError(error, this.#context_(`delete '${this.#shown(key)}'`, path));
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
    const askpass = this.#askpass;
    this.#askpass = undefined;
    await (await askpass?.catch(() => undefined))?.remove();
  }

  /**
   * Atomic replace with `posix-rename@openssh.com`. Without it, plain
   * RENAME refuses an existing target, so the target is removed first: a
   * reader may then briefly find no file, but never a partial one.
   */
  async #rename(client: SftpClient, from: string, to: string): Promise<void> {
    if (client.extensions.has("posix-rename@openssh.com")) return client.posixRename(from, to);
    try {
      await client.rename(from, to);
    } catch (error) {
      if (!isGenericFailure(error)) throw error;
      await client.remove(to).catch(() => undefined);
      await client.rename(from, to);
    }
  }

  /** After a generic write failure: true when the server's file system has no room for the file. */
  async #full(client: SftpClient, target: string, size: number | undefined): Promise<boolean> {
    if (!client.extensions.has("statvfs@openssh.com")) return false;
    const free = await client.freeBytes(posix.dirname(target)).catch(() => undefined);
    return free !== undefined && free < Math.max(size ?? 0, 64 * 1024);
  }

  #context_(action: string, path: string): FailureContext {
    return { action, where: this.#url(path) };
  }

  /** A remote path as a URL on this remote, for messages. */
  #url(path: string): string {
    const origin = /^ssh:\/\/[^/]*/i.exec(this.displayUrl)?.[0] ?? this.displayUrl;
    return `${origin}${path.startsWith("/") ? "" : "/"}${path}`;
  }

  /** A key as a URL on this remote, for messages. */
  #shown(key: string): string {
    return this.#url(this.#path(key));
  }

  /** The remote path of `key`; keys that could leave the root are refused. */
  #path(key: string): string {
    const parts = key.split("/");
    if (
      key.length === 0 || key.includes("\0") ||
      parts.some((part) => part === "" || part === "." || part === "..")
    ) {
      throw new UnsafePathError(`The object key '${key}' is not a safe relative path.`, {
        data: { key },
      });
    }
    return posix.join(this.#remote.root, ...parts);
  }
}

/** Remote failures named as the download they broke (not as the local write). */
async function* mapErrors(
  chunks: AsyncGenerator<Uint8Array>,
  context: () => FailureContext,
): AsyncGenerator<Uint8Array> {
  try {
    yield* chunks;
  } catch (error) {
    throw sftpError(error, context());
  }
}
