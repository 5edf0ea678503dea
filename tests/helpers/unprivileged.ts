/**
 * Running a program as an unprivileged user (nobody, 65534), so that tests of
 * read-only remotes mean something when the tests run as root: root ignores
 * file modes, nobody does not. Needs root (to switch user) and util-linux's
 * setpriv, both present where the tests run as root.
 */
import process from "node:process";

export const NOBODY = 65534;

/** Whether this process runs as root (file modes do not bind it). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * What to put before a command to run it as nobody: no groups, a HOME that
 * does not exist (root's config is not readable for nobody), and git told to
 * trust repositories it does not own (else it stops at "dubious ownership",
 * before the write that the test is about).
 */
export const AS_NOBODY: readonly string[] = [
  "setpriv",
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  "--clear-groups",
  "env",
  "HOME=/nonexistent",
  "XDG_CONFIG_HOME=/nonexistent",
  "GIT_CONFIG_COUNT=1",
  "GIT_CONFIG_KEY_0=safe.directory",
  "GIT_CONFIG_VALUE_0=*",
];

/** `AS_NOBODY` as one shell command prefix (for sshd's ForceCommand). */
export const AS_NOBODY_SHELL = AS_NOBODY.map((word) => `'${word}'`).join(" ");
