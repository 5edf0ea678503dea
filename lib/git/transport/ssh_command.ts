/**
 * Which ssh program to run and with which arguments, following git's rules
 * (connect.c): DXP_SSH_COMMAND / GIT_SSH_COMMAND / core.sshCommand are shell
 * command lines, GIT_SSH is a program; the "variant" decides which options
 * the program understands.
 */
import { basename } from "node:path";
import { InvalidArgumentError } from "../../errors/mod.ts";
import type { TransportOptions } from "./types.ts";

export type SshVariant = "ssh" | "plink" | "putty" | "tortoiseplink" | "simple";

export interface SshCommand {
  /** The program, or a shell command line when `shell` is true. */
  readonly command: string;
  readonly shell: boolean;
  readonly variant: SshVariant;
  /** Where the command came from (for debug output). */
  readonly source: string;
}

/** Splits a command line like git's split_cmdline (quotes and backslashes, no expansion). */
export function splitCommandLine(line: string): string[] | null {
  const out: string[] = [];
  let current = "";
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(current);
      current = "";
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote !== null) return null;
  if (inWord) out.push(current);
  return out;
}

function variantOfProgram(program: string): SshVariant | undefined {
  const name = basename(program).toLowerCase().replace(/\.exe$/, "");
  if (name === "ssh") return "ssh";
  if (name === "plink") return "plink";
  if (name === "tortoiseplink") return "tortoiseplink";
  return undefined;
}

function explicitVariant(options: TransportOptions): SshVariant | undefined {
  const value = options.env["GIT_SSH_VARIANT"] ?? options.gitConfig("ssh.variant");
  if (value === undefined || value === "" || value === "auto") return undefined;
  if (["ssh", "plink", "putty", "tortoiseplink", "simple"].includes(value)) {
    return value as SshVariant;
  }
  throw new InvalidArgumentError(
    `Unknown ssh variant '${value}'; use one of auto, ssh, plink, putty, tortoiseplink, simple.`,
  );
}

/**
 * Resolves the ssh program. A program whose variant cannot be recognised
 * gets no options at all (git's "simple" variant), so an unusual wrapper is
 * never handed flags it does not know.
 */
export function resolveSshCommand(options: TransportOptions): SshCommand {
  const { env } = options;
  const candidates: [string | undefined, boolean, string][] = [
    [env["DXP_SSH_COMMAND"], true, "DXP_SSH_COMMAND"],
    [env["GIT_SSH_COMMAND"], true, "GIT_SSH_COMMAND"],
    [env["GIT_SSH"], false, "GIT_SSH"],
    [options.gitConfig("core.sshCommand"), true, "core.sshCommand"],
  ];
  const found = candidates.find(([value]) => value !== undefined && value.trim() !== "");
  const [command, shell, source] = found === undefined ? ["ssh", false, "default"] : found;
  const cmd = command!;
  let variant = explicitVariant(options);
  if (variant === undefined) {
    const program = shell ? splitCommandLine(cmd)?.[0] : cmd;
    variant = (program === undefined ? undefined : variantOfProgram(program)) ?? "simple";
  }
  return { command: cmd, shell, variant, source };
}

/** Quotes one argument for a POSIX shell the way git's sq_quote does. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''").replace(/!/g, "'\\!'")}'`;
}

/** The argument list after the program: options, destination, remote command. */
export function sshArguments(
  cmd: SshCommand,
  target: { user?: string; host: string; port?: number },
  remoteCommand: string,
  sendProtocolEnv: boolean,
): string[] {
  const args: string[] = [];
  const destination = target.user === undefined ? target.host : `${target.user}@${target.host}`;
  switch (cmd.variant) {
    case "ssh":
      if (sendProtocolEnv) args.push("-o", "SendEnv=GIT_PROTOCOL");
      if (target.port !== undefined) args.push("-p", String(target.port));
      // OpenSSH reads "--" as the end of options: the destination can never be an option.
      args.push("--");
      break;
    case "tortoiseplink":
      args.push("-batch");
      if (target.port !== undefined) args.push("-P", String(target.port));
      break;
    case "plink":
    case "putty":
      if (target.port !== undefined) args.push("-P", String(target.port));
      break;
    case "simple":
      if (target.port !== undefined) {
        throw new InvalidArgumentError(
          `The ssh program '${cmd.command}' (from ${cmd.source}) does not take a port; ` +
            "set GIT_SSH_VARIANT=ssh if it is OpenSSH, or put the port in ~/.ssh/config.",
        );
      }
      break;
  }
  args.push(destination, remoteCommand);
  return args;
}
