/**
 * The ssh command line that opens an SFTP session: `DXP_SSH_COMMAND` (a
 * shell command line, the variable the Git transport honours first) or
 * plain `ssh`, then OpenSSH options from the remote section, `-s`, `--`,
 * the host and the `sftp` subsystem name.
 */
import type { SshRemote } from "./ssh_remote.ts";
import { shellCommand } from "../../util/shell.ts";

/** A process to start. */
export interface SshLaunch {
  readonly program: string;
  readonly args: readonly string[];
  /** Extra environment for the process (askpass settings). */
  readonly env: Readonly<Record<string, string>>;
  /** The ssh program as configured, and where it came from, for messages. */
  readonly command: string;
  readonly source: string;
  /** The command line for `-v` output (secrets travel in `env`, never here). */
  readonly shown: string;
}

/** Environment variables the askpass helper reads its answers from. */
export const ASKPASS_PASSWORD_VAR = "DXP_SSH_ASKPASS_PASSWORD";
export const ASKPASS_PASSPHRASE_VAR = "DXP_SSH_ASKPASS_PASSPHRASE";

/**
 * The OpenSSH options for a remote. The destination is the host alone (the
 * user goes through `-l`), after `--`, so neither can be read as an option.
 */
export function sshOptions(remote: SshRemote): string[] {
  const args: string[] = [];
  if (remote.port !== undefined) args.push("-p", String(remote.port));
  if (remote.user !== undefined) args.push("-l", remote.user);
  if (remote.keyfile !== undefined) args.push("-i", remote.keyfile);
  if (remote.connectTimeout !== undefined) {
    args.push("-o", `ConnectTimeout=${remote.connectTimeout}`);
  }
  if (!remote.allowAgent) args.push("-o", "IdentityAgent=none");
  if (remote.gssAuth !== undefined) {
    args.push("-o", `GSSAPIAuthentication=${remote.gssAuth ? "yes" : "no"}`);
  }
  // The session only moves files: no forwarded agent, X11 or terminal.
  args.push("-a", "-x", "-T");
  args.push("-s", "--", remote.host, "sftp");
  return args;
}

/**
 * How to start the session. `askpass` is the path of the helper script when
 * the remote has a password or passphrase: ssh then asks it instead of the
 * terminal (`SSH_ASKPASS_REQUIRE=force`), and the secret travels only in the
 * process environment.
 */
export function sshLaunch(
  remote: SshRemote,
  env: Readonly<Record<string, string | undefined>>,
  askpass?: string,
): SshLaunch {
  const args = sshOptions(remote);
  const extra: Record<string, string> = {};
  if (askpass !== undefined) {
    extra["SSH_ASKPASS"] = askpass;
    extra["SSH_ASKPASS_REQUIRE"] = "force";
    // OpenSSH before 8.4 ignores SSH_ASKPASS_REQUIRE and asks the helper only when
    // DISPLAY is set (its stdin is our pipe, never a terminal). X11 forwarding stays off (-x).
    if (env["DISPLAY"] === undefined) extra["DISPLAY"] = ":0";
    if (remote.password !== undefined) extra[ASKPASS_PASSWORD_VAR] = remote.password;
    if (remote.passphrase !== undefined) extra[ASKPASS_PASSPHRASE_VAR] = remote.passphrase;
  }
  const configured = env["DXP_SSH_COMMAND"];
  if (configured === undefined || configured.trim() === "") {
    const shown = ["ssh", ...args].join(" ");
    return { program: "ssh", args, env: extra, command: "ssh", source: "default", shown };
  }
  const [program, shellArgs] = shellCommand(configured, args);
  return {
    program,
    args: shellArgs,
    env: extra,
    command: configured,
    source: "DXP_SSH_COMMAND",
    shown: [configured, ...args].join(" "),
  };
}
