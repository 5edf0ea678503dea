import { homedir } from "node:os";
import { isAbsolute, relative, resolve } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

// DVC leaves alone anything that looks like `<scheme>://`.
const URL_LIKE = /^\w+:\/\//;

/** True for `s3://…`, `remote://…`, `file://…`: values DVC never treats as a relative path. */
export function isUrlLike(value: string): boolean {
  return URL_LIKE.test(value);
}

/** Expands a leading `~` or `~/` to the home folder. */
export function expandHome(value: string, env: Env): string {
  if (value !== "~" && !value.startsWith("~/")) return value;
  return (env["HOME"] || homedir()) + value.slice(1);
}

/**
 * A path-valued option as DVC uses it: URLs and absolute paths unchanged,
 * `~` expanded, a relative path resolved against the folder of the config
 * file that holds it (normalised).
 */
export function resolveConfigPath(value: string, baseDir: string, env: Env): string {
  if (isUrlLike(value)) return value;
  const expanded = expandHome(value, env);
  return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
}

/**
 * The same path as `dvc remote list` shows it. DVC 3.x resolves a relative
 * value with `os.path.abspath(join(config_dir, value))`, so the folder is
 * normalised (`/p/store`, not `/p/.dvc/../../store`): exactly
 * {@link resolveConfigPath}.
 */
export function displayConfigPath(value: string, baseDir: string, env: Env): string {
  return resolveConfigPath(value, baseDir, env);
}

/**
 * How DVC stores a path given on the command line: URLs, absolute paths and
 * `~` paths as given; a relative path (relative to `cwd`) rewritten relative
 * to the config file's folder, with `/` separators.
 */
export function toConfigRelative(value: string, cwd: string, configDir: string): string {
  if (isUrlLike(value) || isAbsolute(value) || value === "~" || value.startsWith("~/")) {
    return value;
  }
  const rel = relative(resolve(configDir), resolve(cwd, value));
  return (rel === "" ? "." : rel).replaceAll("\\", "/");
}

/** Options whose values are paths (DVC's `_map_dirs`). */
export const REMOTE_PATH_OPTIONS: ReadonlySet<string> = new Set([
  "url",
  "gdrive_user_credentials_file",
  "gdrive_service_account_json_file_path",
  "credentialpath",
  "configpath",
  "keyfile",
  "cert_path",
  "key_path",
]);
