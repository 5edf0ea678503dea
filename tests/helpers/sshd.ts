/**
 * A private OpenSSH server on 127.0.0.1 for transport tests: own host key,
 * own config, own client key, started in the foreground and stopped by pid.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createServer, Socket } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { run, scratch } from "./tmp.ts";
import { AS_NOBODY_SHELL } from "./unprivileged.ts";

export interface Sshd {
  readonly port: number;
  /** For GIT_SSH_COMMAND / DXP_SSH_COMMAND: ssh with our client key and no host-key prompts. */
  readonly sshCommand: string;
  /** An environment for the transports: PATH, HOME and DXP_SSH_COMMAND. */
  readonly env: Record<string, string>;
  /** The client's private key (e.g. to build other ssh command lines). */
  readonly clientKey: string;
  /** `ssh://<user>@127.0.0.1:<port><path>`. */
  url(path: string): string;
  /** The server's log so far (for failed-test messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** `AcceptEnv GIT_PROTOCOL` (default true): false makes git speak protocol v0. */
  readonly acceptEnv?: boolean;
  /**
   * Run every session's command as nobody (a ForceCommand through setpriv),
   * so the server side is bound by file modes even when the tests run as root.
   */
  readonly asNobody?: boolean;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, "127.0.0.1");
  });
}

/** Starts sshd; the caller must `stop()` it. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  if (!existsSync("/usr/sbin/sshd")) {
    throw new Error("/usr/sbin/sshd is missing: apt-get install openssh-server");
  }
  if (!existsSync("/run/sshd")) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const { dir, cleanup } = await scratch("dxp-sshd-");
  const keygen = (file: string) => {
    const r = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
    if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  };
  keygen(join(dir, "host_key"));
  keygen(join(dir, "client_key"));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
  chmodSync(join(dir, "authorized_keys"), 0o600);

  // Bun's os.userInfo() may not know the name; ask the system.
  const user = run("id", ["-un"]).stdout.trim() || userInfo().username;
  const config = (port: number) =>
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin yes",
      ...(options.acceptEnv === false ? [] : ["AcceptEnv GIT_PROTOCOL"]),
      ...(options.asNobody
        ? [`ForceCommand exec ${AS_NOBODY_SHELL} sh -c "$SSH_ORIGINAL_COMMAND"`]
        : []),
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "LogLevel ERROR",
      "",
    ].join("\n");

  const logPath = join(dir, "sshd.log");
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, "sshd_config"), config(port));
    const logFd = openSync(logPath, "a");
    const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], {
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // sshd -D either listens or exits (e.g. the port was taken meanwhile): wait for one of the two.
    let up = false;
    const giveUp = Date.now() + 60_000; // only a hung sshd gets here; a loaded machine does not
    while (child.exitCode === null && child.signalCode === null && Date.now() < giveUp) {
      if (await canConnect(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!up) {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      continue;
    }
    const knownHosts = join(dir, "known_hosts");
    const clientKey = join(dir, "client_key");
    const sshCommand = [
      "ssh",
      "-F",
      "/dev/null",
      "-i",
      clientKey,
      "-o",
      `UserKnownHostsFile=${knownHosts}`,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
    ].join(" ");
    let stopped = false;
    return {
      port,
      sshCommand,
      clientKey,
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        HOME: process.env["HOME"] ?? dir,
        DXP_SSH_COMMAND: sshCommand,
      },
      url: (path: string) => `ssh://${user}@127.0.0.1:${port}${path}`,
      log: () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : ""),
      async stop() {
        if (stopped) return;
        stopped = true;
        if (child.exitCode === null) child.kill("SIGTERM");
        await exited;
        await cleanup();
      },
    };
  }
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  await cleanup();
  throw new Error(`sshd did not start: ${log}`);
}
