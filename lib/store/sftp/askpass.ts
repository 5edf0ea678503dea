/**
 * The SSH_ASKPASS helper that answers ssh's password and key-passphrase
 * prompts for remotes configured with `password` / `passphrase`. OpenSSH has
 * no other way to take a password non-interactively. The script holds no
 * secret: it prints an environment variable that only ssh (and what ssh
 * starts) inherits, so nothing secret is ever written to disk.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASKPASS_PASSPHRASE_VAR, ASKPASS_PASSWORD_VAR } from "./ssh_launch.ts";

/** A helper script on disk and how to remove it. */
export interface AskpassHelper {
  readonly path: string;
  remove(): Promise<void>;
}

// Prompts: "Enter passphrase for key '/k': " and "user@host's password: ".
// Anything else (host-key confirmation, one-time codes) is refused so ssh
// never receives a secret as the answer to the wrong question.
const SCRIPT = `#!/bin/sh
case "$1" in
  *"assphrase for"*) [ -n "\${${ASKPASS_PASSPHRASE_VAR}+x}" ] || exit 1
    printf '%s\\n' "$${ASKPASS_PASSPHRASE_VAR}" ;;
  *[Pp]assword:*) [ -n "\${${ASKPASS_PASSWORD_VAR}+x}" ] || exit 1
    printf '%s\\n' "$${ASKPASS_PASSWORD_VAR}" ;;
  *) exit 1 ;;
esac
`;

/** Writes the helper into a new private (0700) folder. */
export async function createAskpassHelper(): Promise<AskpassHelper> {
  const dir = await mkdtemp(join(tmpdir(), "dxp-askpass-"));
  const path = join(dir, "askpass.sh");
  await writeFile(path, SCRIPT, { mode: 0o700 });
  await chmod(path, 0o700);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
