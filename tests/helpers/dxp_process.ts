import { spawn } from "node:child_process";
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
