import process from "node:process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { ensureFreshBinary } from "./dxp_binary.ts";

/** Makes a scratch folder and returns it with a cleanup function. */
export async function scratch(
  prefix = "dxp-test-",
): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The fixtures made by real DVC (tests/fixtures/README.md). */
export type FixtureName = "basic" | "legacy" | "remotes" | "save";

/** Extracts a fixture tarball into `dir`; returns `<dir>/<name>`. */
export function extractFixture(name: FixtureName, dir: string): string {
  const tarball = new URL(`../fixtures/${name}.tar.gz`, import.meta.url).pathname;
  execFileSync("tar", ["-xzf", tarball, "-C", dir]);
  return join(dir, name);
}

/** Environment close to the one the goldens were made with (fixtures README §2). */
export function goldenEnv(home: string): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    DVC_GLOBAL_CONFIG_DIR: join(home, "dvc-global"),
    DVC_SYSTEM_CONFIG_DIR: join(home, "dvc-system"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "Fixture Author",
    GIT_AUTHOR_EMAIL: "author@fixtures.invalid",
    GIT_COMMITTER_NAME: "Fixture Committer",
    GIT_COMMITTER_EMAIL: "committer@fixtures.invalid",
    TZ: "UTC",
    LC_ALL: "C.UTF-8",
    NO_COLOR: "1",
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program synchronously and captures everything (never throws on exit code). */
export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {},
): RunResult {
  const result = spawnSync(cmd, args, {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv | undefined,
    input: options.input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { code: result.status ?? 128, stdout: result.stdout, stderr: result.stderr };
}

/** Path of the compiled binary the e2e tests drive. */
export const DXP_BIN = new URL("../../dist/dxp", import.meta.url).pathname;
// Every test file that can reach DXP_BIN imports this module: no file tests a stale binary.
ensureFreshBinary();

/** Runs the compiled `dist/dxp`. */
export function dxp(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {},
): RunResult {
  return run(DXP_BIN, args, options);
}

/** Runs real git and returns stdout, throwing on a non-zero exit. */
export function git(args: string[], cwd: string, env?: Record<string, string>): string {
  const result = run("git", args, { cwd, env: { ...process.env, ...env } });
  if (result.code !== 0) {
    throw new Error(`git ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Runs a program without blocking the event loop — needed when the server
 * it talks to (an in-process HTTP server) lives in the test process.
 */
export function runAsync(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv | undefined,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d);
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}
