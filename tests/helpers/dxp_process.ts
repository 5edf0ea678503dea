import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { buildFolders, removeScaleDir } from "./scale_repo.ts";
import { DXP_BIN, type RunResult } from "./tmp.ts";

/**
 * Starts dist/dxp without waiting for it: `done` resolves when it exits,
 * `stderrSeen(pattern)` once its stderr so far matches (or it exits), so a
 * test can act while the command is at a known point (holding the repo
 * lock, waiting for it).
 */
export function startDxp(args: string[], options: { cwd: string; env: Record<string, string> }) {
  const child = spawn(DXP_BIN, args, { cwd: options.cwd, env: options.env });
  let stdout = "";
  let stderr = "";
  const watchers: { pattern: RegExp; resolve(): void }[] = [];
  child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d);
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    for (const w of watchers.filter((w) => w.pattern.test(stderr))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
  });
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      for (const w of watchers) w.resolve();
      resolve({ code: code ?? 128, stdout, stderr });
    });
  });
  return {
    child,
    done,
    stderrSeen: (pattern: RegExp) =>
      new Promise<void>((resolve) => {
        if (pattern.test(stderr)) resolve();
        else watchers.push({ pattern, resolve });
      }),
  };
}

/**
 * Runs `dxp checkout` in `repo` (which builds its output `data` aside) and
 * sends it `signal` once the folder being built holds `subfolder`: an
 * event, however slow the machine. Through a shell that reports dxp's own
 * exit status (Deno's child_process reports null for a child it sent a
 * signal to, whatever the child did). Returns dxp's stderr followed by
 * `exit=N`, or undefined when the checkout finished first (its `data` is
 * then removed, to try again).
 */
export async function signalMidBuild(
  repo: string,
  signal: "SIGINT" | "SIGKILL",
  subfolder: string,
  env: Record<string, string>,
): Promise<string | undefined> {
  const pidFile = join(repo, "..", `dxp-pid-${process.pid}`);
  rmSync(pidFile, { force: true });
  const child = spawn("sh", [
    "-c",
    `"$0" "$@" & echo $! > '${pidFile}'; wait $!; echo "exit=$?" >&2`,
    DXP_BIN,
    "checkout",
  ], { cwd: repo, env });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  let running = true;
  void closed.then(() => (running = false));
  for (;;) {
    const temp = buildFolders(repo)[0];
    if (!running || (temp !== undefined && existsSync(join(repo, temp, subfolder)))) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  while (running && !existsSync(pidFile)) await new Promise((r) => setTimeout(r, 2));
  if (running) process.kill(Number(readFileSync(pidFile, "utf8")), signal);
  await closed;
  rmSync(pidFile, { force: true });
  if (!existsSync(join(repo, "data"))) return stderr;
  removeScaleDir(join(repo, "data"));
  return undefined;
}
