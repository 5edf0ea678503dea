/**
 * One ssh process carrying one SFTP session: packets go to its stdin
 * (batched per tick into one write), answers come from its stdout, its
 * stderr is kept (bounded) to explain failures. A session that dies fails
 * every pending request with a transient StoreError, so the transfer queue
 * retries on a new session.
 */
import { childSettled } from "../../util/child_exit.ts";
import { spawn } from "node:child_process";
import { StoreError } from "../../errors/mod.ts";
import { SftpClient } from "./sftp_client.ts";
import type { SshLaunch } from "./ssh_launch.ts";
import type { SshRemote } from "./ssh_remote.ts";
import { concatBytes } from "../../util/bytes.ts";

const STDERR_LIMIT = 16 * 1024;
const CLOSE_GRACE_MS = 2000;
/** Batches up to this size are joined into one buffer before writing. */
const JOIN_LIMIT = 64 * 1024;

/** What starting a session needs. */
export interface SessionSpec {
  readonly launch: SshLaunch;
  /** The environment ssh runs with (the store context's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly remote: SshRemote;
  readonly onDebug?: ((line: string) => void) | undefined;
}

interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly spawnError?: Error;
}

export class SftpSession {
  readonly client: SftpClient;
  readonly #kill: () => void;
  readonly #endInput: () => void;
  readonly #exited: Promise<Exit>;
  #closed = false;

  private constructor(
    client: SftpClient,
    exited: Promise<Exit>,
    kill: () => void,
    endInput: () => void,
  ) {
    this.client = client;
    this.#exited = exited;
    this.#kill = kill;
    this.#endInput = endInput;
  }

  /** True until the process ended or the session was closed. */
  get alive(): boolean {
    return !this.#closed && this.client.failure === undefined;
  }

  /**
   * Starts ssh and completes the SFTP handshake. A session that cannot be
   * opened (no such host, refused, authentication, no SFTP subsystem) fails
   * with a permanent StoreError carrying ssh's last stderr line.
   */
  static async open(spec: SessionSpec): Promise<SftpSession> {
    const { launch, remote } = spec;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...spec.env, ...launch.env })) {
      if (v !== undefined) env[k] = v;
    }
    spec.onDebug?.(`ssh: ${launch.shown}`);
    const child = spawn(launch.program, [...launch.args], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderr = (stderr + text).slice(-STDERR_LIMIT);
    });
    child.stdin.on("error", () => undefined); // EPIPE once ssh is gone; seen through 'close'.

    // Packets produced in the same turn of the event loop leave in one write (one
    // system call, one ssh channel message): that makes many small requests cheap.
    let batch: Uint8Array[] = [];
    let batched = 0;
    const flush = () => {
      const packets = batch;
      const total = batched;
      batch = [];
      batched = 0;
      if (packets.length === 1) {
        child.stdin.write(packets[0]!);
      } else if (total <= JOIN_LIMIT) {
        child.stdin.write(concatBytes(packets, total));
      } else {
        // Data-carrying packets are big already: copying them again costs more than a write.
        child.stdin.cork();
        for (const packet of packets) child.stdin.write(packet);
        child.stdin.uncork();
      }
    };
    const client = new SftpClient((packet) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push(packet);
      batched += packet.length;
    });
    child.stdout.on("data", (chunk: Uint8Array) => client.receive(chunk));

    let opened = false;
    let spawnError: Error | undefined;
    const exited: Promise<Exit> = childSettled(child, (e) => {
      spawnError = e;
    }).then((exit) => (spawnError === undefined ? exit : { ...exit, spawnError }));
    void exited.then((exit) => {
      if (exit.spawnError === undefined && stderr.trim() !== "") {
        spec.onDebug?.(`ssh: exited with ${exit.code ?? exit.signal}; stderr: ${stderr.trim()}`);
      }
      client.fail(
        opened ? lostError(remote, exit, stderr) : openError(remote, launch, exit, stderr),
      );
    });

    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    };
    const session = new SftpSession(client, exited, kill, () => child.stdin.end());
    try {
      await client.handshake();
    } catch (error) {
      kill();
      await exited;
      // The 'close' handler has failed the client with the explained error by now.
      throw client.failure ?? error;
    }
    opened = true;
    return session;
  }

  /** Ends the session: closes ssh's input, then stops it if it lingers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#endInput();
    const timer = setTimeout(this.#kill, CLOSE_GRACE_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}

const NOISE = [/^Warning: Permanently added/i, /^\*\*/];
const AUTH =
  /permission denied \(|too many authentication failures|no more authentication methods|authentication failed|host key verification failed/i;

/** The last meaningful stderr line. */
export function lastStderrLine(stderr: string): string | undefined {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l !== "" && !NOISE.some((re) => re.test(l))
  );
  return lines.at(-1)?.replace(/\.$/, "");
}

function openError(remote: SshRemote, launch: SshLaunch, exit: Exit, stderr: string): StoreError {
  const data = { where: remote.displayUrl, storeWide: true, exitCode: exit.code };
  if (exit.spawnError !== undefined) {
    return new StoreError(
      `Could not run the ssh program '${launch.command}' (from ${launch.source}) for ` +
        `'${remote.displayUrl}': ${exit.spawnError.message}; install OpenSSH or set DXP_SSH_COMMAND.`,
      { cause: exit.spawnError, data },
    );
  }
  const last = lastStderrLine(stderr);
  if (last !== undefined && AUTH.test(last)) {
    return new StoreError(
      `Authentication failed for '${remote.authTarget}' (${last}); ` +
        "check the remote's user, keyfile and your ssh agent or ~/.ssh/config.",
      { data },
    );
  }
  if (last !== undefined && /subsystem request failed/i.test(last)) {
    return new StoreError(
      `The server of '${remote.displayUrl}' offers no SFTP subsystem (${last}); ` +
        "ask its administrator to enable sftp.",
      { data },
    );
  }
  const why = last ?? `ssh exited with status ${exit.code ?? exit.signal}`;
  return new StoreError(
    `Could not open an SFTP session to '${remote.displayUrl}': ${why}; ` +
      `check that '${sshHint(remote)}' works.`,
    { data },
  );
}

/** The ssh command line a user can try by hand. */
function sshHint(remote: SshRemote): string {
  const port = remote.port === undefined ? "" : `-p ${remote.port} `;
  const user = remote.user === undefined ? "" : `${remote.user}@`;
  return `ssh ${port}${user}${remote.host}`;
}

function lostError(remote: SshRemote, exit: Exit, stderr: string): StoreError {
  const why = lastStderrLine(stderr) ?? `ssh exited with status ${exit.code ?? exit.signal}`;
  return new StoreError(
    `The ssh connection to '${remote.displayUrl}' ended unexpectedly (${why}); retry later.`,
    { transient: true, data: { where: remote.displayUrl, errno: "ECONNRESET" } },
  );
}
