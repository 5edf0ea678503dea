/**
 * The e2e tests drive the compiled `dist/dxp`. `deno task test` builds it
 * first; a bare `deno test` would otherwise test whatever binary was left
 * from an earlier build. So before the first test of a file runs, a binary
 * older than any source (`lib/`, `cli.ts`, `mod.ts`) — or a missing one — is
 * rebuilt with the build task's own command, into a temp file renamed over
 * `dist/dxp` (processes running the old binary keep it).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const BINARY = join(ROOT, "dist", "dxp");

/** The newest source file and its modification time. */
function newestSource(): { path: string; mtimeMs: number } {
  let newest = { path: "", mtimeMs: 0 };
  const consider = (path: string) => {
    const { mtimeMs } = statSync(path);
    if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  };
  consider(join(ROOT, "cli.ts"));
  consider(join(ROOT, "mod.ts"));
  for (const entry of readdirSync(join(ROOT, "lib"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) consider(join(entry.parentPath, entry.name));
  }
  return newest;
}

/** Why `dist/dxp` must be rebuilt, or undefined when it is up to date. */
export function staleBinaryReason(): string | undefined {
  let built: number;
  try {
    built = statSync(BINARY).mtimeMs;
  } catch {
    return "dist/dxp does not exist";
  }
  const newest = newestSource();
  return newest.mtimeMs > built
    ? `dist/dxp is older than ${relative(ROOT, newest.path)}`
    : undefined;
}

/** The build task of deno.json, writing to `outfile` instead of dist/dxp. */
function buildCommand(outfile: string): string[] {
  const tasks = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks as {
    build: string;
  };
  const words = tasks.build.split(/\s+/).filter((word) => word !== "");
  const at = words.indexOf("--outfile");
  if (at < 0 || words[at + 1] !== "dist/dxp" || words.some((w) => /[&|;<>"'$]/.test(w))) {
    throw new Error(`deno.json's build task is not a plain '... --outfile dist/dxp' command`);
  }
  words[at + 1] = outfile;
  return words;
}

/** Rebuilds dist/dxp when it is missing or older than a source; throws one line if that fails. */
export function ensureFreshBinary(): void {
  const reason = staleBinaryReason();
  if (reason === undefined) return;
  console.error(`${reason}: rebuilding it (deno task build)`);
  const temp = join(ROOT, "dist", `.dxp-${process.pid}.tmp`);
  const [program, ...args] = buildCommand(temp);
  const result = spawnSync(program!, args, { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) {
    rmSync(temp, { force: true });
    const lines = `${result.error?.message ?? ""}\n${result.stderr ?? ""}`.split("\n")
      .map((line) => line.trim()).filter((line) => line !== "");
    const why = lines.find((line) => /error/i.test(line)) ?? lines.at(-1) ?? "no output";
    throw new Error(`${reason}, and rebuilding it failed (${why}): run deno task build`);
  }
  renameSync(temp, BINARY);
}
