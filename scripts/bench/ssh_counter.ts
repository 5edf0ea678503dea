/**
 * An ssh wrapper that logs one line per connection and then runs the real
 * ssh command, to count how many ssh processes a command starts. dxp needs
 * GIT_SSH_VARIANT=ssh with it (the program is not called `ssh`, so dxp would
 * not pass `-p` otherwise).
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SshCounter {
  /** Path of the wrapper script (for DXP_SSH_COMMAND / GIT_SSH_COMMAND). */
  command: string;
  /** Connections logged since the last reset. */
  count(): number;
  reset(): void;
}

export function makeSshCounter(dir: string, sshCommand: string): SshCounter {
  const log = join(dir, "ssh-connections.log");
  const command = join(dir, "ssh-counting-wrapper");
  writeFileSync(
    command,
    `#!/bin/sh\necho "$*" >> '${log}'\nexec ${sshCommand} "$@"\n`,
  );
  chmodSync(command, 0o755);
  return {
    command,
    count: () =>
      existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((l) => l !== "").length : 0,
    reset: () => rmSync(log, { force: true }),
  };
}
