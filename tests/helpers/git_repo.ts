/**
 * Builders for Git repositories used by the git_* tests: real git CLI only.
 */
import { writeFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { git, run, scratch } from "./tmp.ts";

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
/** Runs `fn` on the git dir of a scratch repository with two commits, `a` then `b`. */
export async function withTwoCommits(
  fn: (gitdir: string, a: string, b: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await scratch();
  try {
    const repo = initRepo(join(dir, "r"));
    const a = commitFiles(repo, { "f": "1" }, "a");
    const b = commitFiles(repo, { "f": "2" }, "b");
    await fn(join(repo, ".git"), a, b);
  } finally {
    await cleanup();
  }
}

export function expRef(baseline: string, name: string): string {
  return `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/${name}`;
}

export interface ExpSpec {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly time?: number;
}

/**
 * Commits experiments on top of `baseline` in one `git fast-import` run
 * (no checkout, no branch moves) and points `refs/exps/…/<name>` at each;
 * returns name → commit SHA.
 */
export function commitExps(
  repo: string,
  baseline: string,
  specs: readonly ExpSpec[],
): Map<string, string> {
  const enc = new TextEncoder();
  const data = (text: string) => `data ${enc.encode(text).length}\n${text}\n`;
  let stream = "";
  specs.forEach((spec, i) => {
    const when = `${spec.time ?? 1700000100 + i} +0000`;
    stream += `commit ${expRef(baseline, spec.name)}\n`;
    stream += `author ${GIT_ENV["GIT_AUTHOR_NAME"]} <${GIT_ENV["GIT_AUTHOR_EMAIL"]}> ${when}\n`;
    stream += `committer ${GIT_ENV["GIT_COMMITTER_NAME"]} <${
      GIT_ENV["GIT_COMMITTER_EMAIL"]
    }> ${when}\n`;
    stream += data(`exp ${spec.name}`) + `from ${baseline}\n`;
    for (const [path, content] of Object.entries(spec.files)) {
      stream += `M 100644 inline ${path}\n${data(content)}`;
    }
    stream += "\n";
  });
  const r = run("git", ["fast-import", "--quiet"], {
    cwd: repo,
    input: stream,
    env: { ...process.env, ...GIT_ENV },
  });
  if (r.code !== 0) throw new Error(`git fast-import failed: ${r.stderr}`);
  const prefix = expRef(baseline, "");
  const refs = forEachRef(repo, prefix.slice(0, -1));
  return new Map(specs.map((spec) => [spec.name, refs.get(`${prefix}${spec.name}`)!]));
}

/** One experiment commit on top of `baseline` (see `commitExps`); returns its SHA. */
export function commitExp(
  repo: string,
  baseline: string,
  name: string,
  files: Record<string, string>,
  time = 1700000100,
): string {
  return commitExps(repo, baseline, [{ name, files, time }]).get(name)!;
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
