import { homedir, platform } from "node:os";
import { join } from "node:path";

/** DVC's config levels, in the order they shadow each other (later wins). */
export type ConfigLevel = "system" | "global" | "repo" | "local";
export const CONFIG_LEVELS: readonly ConfigLevel[] = ["system", "global", "repo", "local"];

/** The config file of each level; `repo`/`local` only inside a project. */
export interface ConfigFiles {
  readonly system: string;
  readonly global: string;
  readonly repo?: string;
  readonly local?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where DVC looks for its config files (spec §5.1): `$DVC_SYSTEM_CONFIG_DIR`
 * / `$DVC_GLOBAL_CONFIG_DIR` first, else the platform's site and user config
 * folders (XDG on Linux), each holding a file named `config`.
 */
export function configFiles(options: { dvcDir?: string | undefined; env: Env }): ConfigFiles {
  const { env, dvcDir } = options;
  const files = {
    system: join(systemConfigDir(env), "config"),
    global: join(globalConfigDir(env), "config"),
  };
  if (dvcDir === undefined) return files;
  return { ...files, repo: join(dvcDir, "config"), local: join(dvcDir, "config.local") };
}

function systemConfigDir(env: Env): string {
  const override = env["DVC_SYSTEM_CONFIG_DIR"];
  if (override) return override;
  if (platform() === "darwin") return "/Library/Application Support/dvc";
  if (platform() === "win32") {
    return join(env["ProgramData"] ?? "C:\\ProgramData", "iterative", "dvc");
  }
  // platformdirs: first entry of $XDG_CONFIG_DIRS, else /etc/xdg.
  const dirs = env["XDG_CONFIG_DIRS"] ?? "";
  const first = dirs.trim() ? dirs.split(":")[0]! : "/etc/xdg";
  return join(first, "dvc");
}

function globalConfigDir(env: Env): string {
  const override = env["DVC_GLOBAL_CONFIG_DIR"];
  if (override) return override;
  const home = env["HOME"] || homedir();
  if (platform() === "darwin") return join(home, "Library", "Application Support", "dvc");
  if (platform() === "win32") {
    return join(env["LOCALAPPDATA"] ?? join(home, "AppData", "Local"), "iterative", "dvc");
  }
  const xdg = env["XDG_CONFIG_HOME"] ?? "";
  return join(xdg.trim() ? xdg : join(home, ".config"), "dvc");
}
