import { type GitConfig, loadGitConfig } from "../git/git_config.ts";
import { findProject, type ProjectPaths } from "./find_project.ts";

/** An opened DVC project: where it is, its Git config, the environment. */
export interface Project extends ProjectPaths {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly gitConfig: GitConfig;
}

/** Finds the project containing `cwd` (DVC's "not inside a DVC repository" otherwise). */
export function openProject(
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Project {
  const paths = findProject(cwd);
  return { ...paths, env, gitConfig: loadGitConfig(paths.gitDir, env) };
}
