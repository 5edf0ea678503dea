/**
 * Builders for Git repositories used by the git_* tests: real git CLI only.
 */
import { writeFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { git } from "./tmp.ts";

export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@test.invalid",
  GIT_COMMITTER_NAME: "Test Committer",
  GIT_COMMITTER_EMAIL: "committer@test.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
};

/** Runs git with a fixed identity. */
export function g(args: string[], cwd: string, env: Record<string, string> = {}): string {
  return git(args, cwd, { ...GIT_ENV, ...env });
}

/** `git init` (bare or not) with `main` as the initial branch. */
export function initRepo(path: string, bare = false): string {
  mkdirSync(path, { recursive: true });
  g(["init", "-q", "-b", "main", ...(bare ? ["--bare"] : []), path], dirname(path));
  return path;
}

/** Writes files (path → content) and commits them; returns the new commit SHA. */
export function commitFiles(
  repo: string,
  files: Record<string, string>,
  message: string,
  time = 1700000000,
): string {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(repo, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  g(["add", "-A"], repo);
  const date = `${time} +0000`;
  g(["commit", "-q", "-m", message], repo, { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
  return g(["rev-parse", "HEAD"], repo).trim();
}

/** An experiment ref name for `baseline` (spec §1.1 layout). */
export function expRef(baseline: string, name: string): string {
  return `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/${name}`;
}

/**
 * Commits an experiment on top of `baseline` without moving any branch and
 * points `refs/exps/…/<name>` at it; returns the commit SHA.
 */
export function commitExp(
  repo: string,
  baseline: string,
  name: string,
  files: Record<string, string>,
  time = 1700000100,
): string {
  const head = g(["symbolic-ref", "-q", "HEAD"], repo).trim();
  const before = g(["rev-parse", "HEAD"], repo).trim();
  g(["checkout", "-q", "--detach", baseline], repo);
  const sha = commitFiles(repo, files, `exp ${name}`, time);
  g(["update-ref", expRef(baseline, name), sha], repo);
  g(["checkout", "-q", head.replace("refs/heads/", "")], repo);
  g(["reset", "-q", "--hard", before], repo);
  return sha;
}

/** `git for-each-ref` as a ref → oid map (optionally under a prefix). */
export function forEachRef(repo: string, prefix = ""): Map<string, string> {
  const out = g(
    ["for-each-ref", "--format=%(refname) %(objectname)", ...(prefix ? [prefix] : [])],
    repo,
  );
  return new Map(
    out.split("\n").filter((l) => l !== "").map((l) => {
      const [name, oid] = l.split(" ");
      return [name!, oid!] as [string, string];
    }),
  );
}

/** Number of objects in a pack (from its header). */
export function packObjectCount(pack: Uint8Array): number {
  if (pack.length < 12) return 0;
  return new DataView(pack.buffer, pack.byteOffset, pack.byteLength).getUint32(8);
}
