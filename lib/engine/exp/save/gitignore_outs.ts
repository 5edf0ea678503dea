import * as fs from "node:fs";
import { appendFile, readFile } from "node:fs/promises";
import git from "isomorphic-git";
import { DxpError, ExitCode } from "../../../errors/mod.ts";
import type { SaveOut } from "./stages.ts";

/** Where the Git work tree is, and how project paths map into it. */
export interface GitPaths {
  readonly dir: string;
  readonly gitdir: string;
  /** Project path → Git work-tree path. */
  readonly toGit: (path: string) => string;
  /** How a project path is shown in messages. */
  readonly show: (path: string) => string;
}

/** A `.gitignore` line DVC would add for a cached output (`Output.ignore`). */
export interface IgnoreLine {
  /** Git work-tree path of the `.gitignore`. */
  readonly file: string;
  /** `/<name>` */
  readonly line: string;
}

/**
 * DVC's `Output.ignore()` for the cached outputs being saved: an output Git
 * tracks is an error (its bytes would go into the commit); one Git does not
 * ignore yet gets `/<name>` in the `.gitignore` of its folder. Returns the
 * lines to add (nothing is written here).
 */
export async function ignoreLinesFor(
  outs: readonly SaveOut[],
  paths: GitPaths,
): Promise<IgnoreLine[]> {
  const cached = outs.filter((o) => o.cache);
  if (cached.length === 0) return [];
  const tracked = await git.listFiles({ fs, dir: paths.dir, gitdir: paths.gitdir });
  const lines: IgnoreLine[] = [];
  const seen = new Set<string>();
  for (const out of cached) {
    const path = paths.toGit(out.path);
    if (tracked.some((t) => t === path || t.startsWith(`${path}/`))) {
      const shown = paths.show(out.path);
      throw new DxpError(
        "OutputTrackedByGit",
        `output '${shown}' is already tracked by SCM (e.g. Git); stop tracking it with 'git rm -r --cached ${shown}' and a commit, then save again`,
        ExitCode.failure,
      );
    }
    if (seen.has(path)) continue;
    seen.add(path);
    if (await git.isIgnored({ fs, dir: paths.dir, gitdir: paths.gitdir, filepath: path })) continue;
    const slash = path.lastIndexOf("/");
    lines.push({
      file: slash < 0 ? ".gitignore" : `${path.slice(0, slash)}/.gitignore`,
      line: `/${path.slice(slash + 1)}`,
    });
  }
  return lines;
}

/** Appends the lines to their `.gitignore` files (creating them); returns the files written. */
export async function writeIgnoreLines(
  dir: string,
  lines: readonly IgnoreLine[],
): Promise<string[]> {
  const files = new Set<string>();
  for (const { file, line } of lines) {
    const abs = `${dir}/${file}`;
    const text = await readFile(abs, "utf8").catch(() => "");
    const prefix = text === "" || text.endsWith("\n") ? "" : "\n";
    await appendFile(abs, `${prefix}${line}\n`);
    files.add(file);
  }
  return [...files];
}
