import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, parse, resolve } from "node:path";
import { NotADvcRepoError } from "../errors/mod.ts";

/** Where a DVC project lives on disk. */
export interface ProjectPaths {
  /** The DVC root: the folder holding `.dvc/`. */
  readonly root: string;
  /** `<root>/.dvc`. */
  readonly dvcDir: string;
  /** The Git work tree top (may be above `root` for a DVC project in a subfolder). */
  readonly gitWorkTree: string;
  /** The Git directory (`.git`, or the target of a `.git` file for worktrees/submodules). */
  readonly gitDir: string;
}

/**
 * Finds the DVC project containing `cwd` by walking up to the first folder
 * with a `.dvc/` directory, then the Git repository containing it. Fails with
 * DVC's message (exit 253) when there is none.
 */
export function findProject(cwd: string): ProjectPaths {
  const start = resolve(cwd);
  const root = walkUp(start, (dir) => isDir(join(dir, ".dvc")));
  if (root === undefined) {
    throw new NotADvcRepoError(
      `you are not inside of a DVC repository (checked up to mount point '${parse(start).root}')`,
    );
  }
  const gitWorkTree = walkUp(root, (dir) => existsSync(join(dir, ".git")));
  if (gitWorkTree === undefined) {
    throw new NotADvcRepoError(
      `'${root}' is not a Git repository: experiments are only supported for Git repositories; run 'git init' there first`,
    );
  }
  return { root, dvcDir: join(root, ".dvc"), gitWorkTree, gitDir: gitDirOf(gitWorkTree) };
}

/** Resolves `<worktree>/.git`, following a `gitdir: <path>` file. */
export function gitDirOf(workTree: string): string {
  const dotGit = join(workTree, ".git");
  if (isDir(dotGit)) return dotGit;
  const text = readFileSync(dotGit, "utf8");
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!match?.[1]) {
    throw new NotADvcRepoError(`'${dotGit}' is neither a folder nor a 'gitdir:' file`);
  }
  return resolve(workTree, match[1]);
}

function walkUp(start: string, found: (dir: string) => boolean): string | undefined {
  let dir = start;
  for (;;) {
    if (found(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
