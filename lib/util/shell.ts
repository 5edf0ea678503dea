/**
 * Runs a user-configured command line (`DXP_SSH_COMMAND`, `GIT_SSH_COMMAND`)
 * through `sh -c` with `args` appended, as git does. `exec` makes the shell
 * become the program, so stopping the process we started stops it too (dash
 * does not exec the last command by itself) — except for command lines that
 * start with a variable assignment or hold shell syntax, where it cannot.
 */
export function shellCommand(
  commandLine: string,
  args: readonly string[],
): [program: string, args: string[]] {
  const plain = !/^\s*[A-Za-z_][A-Za-z0-9_]*=/.test(commandLine) && !/[;&|()`\n]/.test(commandLine);
  return ["sh", ["-c", `${plain ? "exec " : ""}${commandLine} "$@"`, commandLine, ...args]];
}
