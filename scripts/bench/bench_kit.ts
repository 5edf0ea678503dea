/**
 * Small pieces shared by the TypeScript benchmark scripts: paths, running and
 * timing commands, medians and an aligned table printer. Timings are only
 * printed, never asserted.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
/** The binary measured: dist/dxp, or DXP_BIN (e.g. a copy of an older build to compare with). */
export const DXP = process.env["DXP_BIN"] ?? join(ROOT, "dist", "dxp");
export const DENO = join(ROOT, "node_modules", ".bin", "deno");

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
}

export interface Ran {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * The command line that runs `cmd` with exactly `env`: Deno's node:child_process
 * adds the parent's environment to the one given, so variables the caller left
 * out on purpose (AWS_CA_BUNDLE for rclone, …) would come back. `env -i` costs
 * one exec, the same for every tool measured.
 */
export function withExactEnv(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined> | undefined,
): [string, string[]] {
  if (env === undefined) return [cmd, args];
  const pairs = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return ["/usr/bin/env", ["-i", ...pairs, cmd, ...args]];
}

/** Runs a command, throwing (with its stderr) when it fails; returns its wall time. */
export function sh(cmd: string, args: string[], options: RunOptions = {}): Ran {
  const [program, argv] = withExactEnv(cmd, args, options.env);
  const start = performance.now();
  const r = spawnSync(program, argv, {
    cwd: options.cwd,
    input: options.input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - start;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}) in ${options.cwd ?? "."}:\n` +
        `${r.stderr}${r.stdout}`.slice(-4000),
    );
  }
  return { ms, stdout: r.stdout, stderr: r.stderr };
}

/** Wall time in ms of one successful run. */
export function timeMs(cmd: string, args: string[], options: RunOptions = {}): number {
  return sh(cmd, args, options).ms;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Formats a number of ms (or any figure) with a fixed number of decimals. */
export function fmt(value: number, decimals = 0): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : "-";
}

/** Prints an aligned table: first column left-aligned, the others right-aligned. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  console.log(`\n# ${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

/** Builds dist/dxp unless DXP_REBUILD=0 and it exists. */
export function ensureBuilt(): void {
  if (process.env["DXP_REBUILD"] === "0" && existsSync(DXP)) return;
  sh(DENO, ["task", "build"], { cwd: ROOT });
}

/** A scratch folder removed by the returned function (and on process exit). */
export function scratchDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(process.env["TMPDIR"] ?? tmpdir(), prefix));
  const remove = () => {
    // DVC caches are read-only: make them writable so rm can unlink them.
    spawnSync("chmod", ["-R", "u+w", dir]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", remove);
  return { dir, remove };
}

/** Number of runs from an environment variable, with a default. */
export function runsFrom(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** One-line machine context for the tables. */
export function machineNote(): string {
  const cpus = sh("nproc", []).stdout.trim();
  const load = sh("cat", ["/proc/loadavg"]).stdout.split(" ").slice(0, 3).join(" ");
  return `${cpus} cores, load average before the run ${load}`;
}
