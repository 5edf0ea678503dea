/**
 * The server hooks of a local-path remote. git-receive-pack runs them around
 * a push (pre-receive and update may refuse it, post-receive tells the world);
 * they are the remote owner's policy, so a push into a remote that has any
 * must run them or not happen.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";

/** The hooks git-receive-pack may run (githooks(5)). */
export const RECEIVE_HOOKS = [
  "pre-receive",
  "update",
  "proc-receive",
  "reference-transaction",
  "push-to-checkout",
  "post-receive",
  "post-update",
] as const;

/** Where the hooks live and which of them are installed (executable). */
export interface ReceiveHooks {
  readonly dir: string;
  readonly names: readonly string[];
  /** Whether `git` could be run (it answered the hooks folder). */
  readonly gitFound: boolean;
}

/** Where a repository's hooks live, as {@link findHooksFolder} found it. */
export type HooksFolder = Omit<ReceiveHooks, "names">;

/**
 * The hooks folder of the repository at `gitdir`: from git itself when it
 * is installed (`core.hooksPath` from any config level), else from the
 * repository's own config, else `hooks/`. Asked when a push session opens
 * (git runs for it: a few ms off the end of the push), as git-receive-pack
 * reads its config when it starts; which hooks are installed is looked at
 * when the push is sent ({@link findReceiveHooks}).
 */
export async function findHooksFolder(
  gitdir: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<HooksFolder> {
  const fromGit = await gitHooksPath(gitdir, env);
  const configured = fromGit.path ?? await repoHooksPath(gitdir);
  // Push hooks run in $GIT_DIR, so a relative core.hooksPath is relative to it.
  return { dir: resolve(gitdir, configured ?? "hooks"), gitFound: fromGit.found };
}

/** The receive hooks installed (executable) in `folder`, now. */
export async function findReceiveHooks(folder: HooksFolder): Promise<ReceiveHooks> {
  const names: string[] = [];
  for (const name of RECEIVE_HOOKS) {
    if (await isExecutableFile(join(folder.dir, name))) names.push(name);
  }
  return { ...folder, names };
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `git rev-parse --git-path hooks` run in `gitdir`. `found` is false only when
 * there is no git to run; git refusing the repository (e.g. "dubious
 * ownership") leaves `path` unset, and receive-pack will say why.
 */
function gitHooksPath(
  gitdir: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ found: boolean; path?: string }> {
  return new Promise((done) => {
    execFile(
      "git",
      ["rev-parse", "--git-path", "hooks"],
      { cwd: gitdir, env: withoutRepoEnv(env), timeout: 30_000 },
      (error, stdout) => {
        if (error === null) return done({ found: true, path: stdout.trim() });
        done({ found: (error as NodeJS.ErrnoException).code !== "ENOENT" });
      },
    );
  });
}

/** `[core] hooksPath` of the repository's own config file. */
async function repoHooksPath(gitdir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(gitdir, "config"), "utf8");
  } catch {
    return undefined;
  }
  let inCore = false;
  let value: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/(^|\s)[#;].*$/, "").trim();
    const section = /^\[\s*([^\]\s"]+)/.exec(line);
    if (section !== null) {
      inCore = section[1]!.toLowerCase() === "core";
      continue;
    }
    const m = /^hookspath\s*=\s*(.*)$/i.exec(line);
    if (inCore && m !== null) value = m[1]!.replace(/^"(.*)"$/, "$1");
  }
  return value;
}

/**
 * The environment without the variables that describe *our* repository, as
 * git clears them before it runs receive-pack on a local remote
 * (`local_repo_env`): they would point the remote's git at the wrong place.
 */
export function withoutRepoEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !REPO_ENV.has(key)) out[key] = value;
  }
  return out;
}

const REPO_ENV = new Set([
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_CONFIG",
  "GIT_CONFIG_COUNT",
  "GIT_CONFIG_PARAMETERS",
  "GIT_DIR",
  "GIT_GRAFT_FILE",
  "GIT_IMPLICIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_INTERNAL_SUPER_PREFIX",
  "GIT_NO_REPLACE_OBJECTS",
  "GIT_OBJECT_DIRECTORY",
  "GIT_PREFIX",
  "GIT_PROTOCOL",
  "GIT_QUARANTINE_PATH",
  "GIT_REPLACE_REF_BASE",
  "GIT_SHALLOW_FILE",
  "GIT_WORK_TREE",
]);
