import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  dxp,
  extractFixture,
  type FixtureName,
  git,
  goldenEnv,
  type RunResult,
  scratch,
} from "./tmp.ts";

/** An extracted fixture with helpers to run dxp and git in it. */
export interface FixtureCopy {
  root: string;
  repo: string;
  env: Record<string, string>;
  /** Runs dist/dxp with the golden environment, cwd = `cwd` (default: repo). */
  dxp(args: string[], cwd?: string): RunResult;
  git(args: string[], cwd?: string): string;
  /**
   * `git clone` of origin.git into `<root>/clone` with config.local pointing at
   * the fixture's DVC remotes (`store` for basic/legacy/save; `store`, `other`
   * and `third` for remotes), as the fixtures README's fresh-clone recipe.
   */
  freshClone(): string;
  cleanup(): Promise<void>;
}

/** Extracts a fixture into a scratch folder. */
export async function fixtureCopy(name: FixtureName): Promise<FixtureCopy> {
  const { dir, cleanup } = await scratch(`dxp-${name}-`);
  const root = extractFixture(name, dir);
  const repo = join(root, "repo");
  const env = goldenEnv(dir);
  return {
    root,
    repo,
    env,
    dxp: (args, cwd = repo) => dxp(args, { cwd, env }),
    git: (args, cwd = repo) => git(args, cwd, env),
    freshClone() {
      const clone = join(root, "clone");
      git(["clone", "-q", join(root, "origin.git"), clone], root, env);
      writeFileSync(join(clone, ".dvc", "config.local"), freshCloneConfigLocal(name));
      return clone;
    },
    cleanup,
  };
}

/** The `.dvc/config.local` the fixtures README writes into a fresh clone. */
export function freshCloneConfigLocal(name: FixtureName): string {
  if (name !== "remotes") return "['remote \"store\"']\n    url = ../../dvcstore\n";
  return ["store", "other", "third"]
    .map((remote) => `['remote "${remote}"']\n    url = ../../${remote}\n`)
    .join("");
}

/** Every file under `dir` as `<relative path>` (sorted), optionally with its octal mode. */
export function listFiles(dir: string, withMode = false): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    let entries: string[];
    try {
      entries = readdirSync(current);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(current, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else {
        const rel = relative(dir, path);
        out.push(withMode ? `${(stat.mode & 0o777).toString(8)} ${rel}` : rel);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/** Lines of a golden "after" section, without blanks. */
export function sectionLines(text: string | undefined): string[] {
  return (text ?? "").split("\n").filter((line) => line !== "");
}

/**
 * `<md5> <mode> <path>` for every work-tree file outside `.git/` and `.dvc/`,
 * sorted by the bytes of the path (the goldens' "workspace files" format).
 */
export function workspaceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      const rel = relative(dir, path);
      if (rel === ".git" || rel === ".dvc") continue;
      const info = statSync(path);
      if (info.isDirectory()) walk(path);
      else {
        const md5 = createHash("md5").update(readFileSync(path)).digest("hex");
        out.push(`${md5} ${(info.mode & 0o777).toString(8)} ${rel}`);
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.slice(37)), Buffer.from(b.slice(37))));
}
