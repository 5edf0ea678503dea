import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * The `.dvc` folder of the project containing `cwd`, or undefined outside
 * one. Config commands only need this (DVC's `Repo.find_dvc_dir`), not Git.
 */
export function findDvcDir(cwd: string): string | undefined {
  for (let dir = resolve(cwd);; dir = dirname(dir)) {
    const candidate = join(dir, ".dvc");
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {
      // not here: keep walking up
    }
    if (dirname(dir) === dir) return undefined;
  }
}
