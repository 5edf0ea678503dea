import { readFile, realpath } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type ConfigData, configDataOf, emptyConfigData, mergeConfigData } from "./config_data.ts";
import { DvcConfig } from "./dvc_config.ts";
import { configError } from "./errors.ts";
import { parseIni } from "./ini_parse.ts";
import { CONFIG_LEVELS, type ConfigFiles, configFiles, type ConfigLevel } from "./levels.ts";
import { validateConfigData } from "./schema.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** What {@link loadDvcConfig} needs. */
export interface LoadDvcConfigOptions {
  /** The project's `.dvc` folder; omit outside a project (system and global levels only). */
  dvcDir?: string | undefined;
  env: Env;
  /**
   * The committed `.dvc/config` of a Git commit: replaces the workspace file.
   * Relative paths in it resolve against the workspace's `.dvc/` (DVC's
   * `/.dvc` resolution during `exp push/pull` is a bug we do not copy).
   */
  repoConfigText?: string | undefined;
  /** Check the merged config against DVC's schema (default true, as DVC does on every command). */
  validate?: boolean;
}

/**
 * Loads DVC's configuration the way DVC does: system, global, repo (`.dvc/config`)
 * and local (`.dvc/config.local`) files merged key by key, later levels winning,
 * then validated. Parse and schema errors are ConfigErrors with DVC's messages.
 *
 * @example
 * ```ts
 * const config = await loadDvcConfig({ dvcDir: "/work/repo/.dvc", env: process.env });
 * const remote = config.remote(config.coreRemote ?? "store"); // { name, url, options }
 * ```
 */
export async function loadDvcConfig(options: LoadDvcConfigOptions): Promise<DvcConfig> {
  const dvcDir = options.dvcDir === undefined ? undefined : await canonicalDir(options.dvcDir);
  const files = configFiles({ dvcDir, env: options.env });
  const merged = emptyConfigData();
  for (const level of CONFIG_LEVELS) {
    const file = files[level];
    if (file === undefined) continue;
    const text = level === "repo" && options.repoConfigText !== undefined
      ? options.repoConfigText
      : await readConfigText(file);
    mergeConfigData(merged, parseConfigText(text ?? "", file));
  }
  if (options.validate ?? true) validateConfigData(merged);
  return new DvcConfig(merged, files, options.env);
}

/** Parses one config file's text into DVC's view (relative paths point from the file's folder). */
export function parseConfigText(text: string, file: string): ConfigData {
  return configDataOf(parseIni(text, file), dirname(file));
}

/** Reads one level's file (undefined when it does not exist). */
export async function readConfigText(file: string): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw configError(`cannot read '${file}' (${code ?? String(error)})`, { cause: error, file });
  }
  try {
    // ignoreBOM keeps a byte order mark in the text so the writer can keep it.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw configError(`'${file}' is not valid UTF-8 text`, { cause: error, file });
  }
}

/**
 * The levels before `level`, merged (DVC's `load_config_to_level`); all
 * levels when `level` is undefined.
 */
export async function loadLevelsBefore(
  files: ConfigFiles,
  level: ConfigLevel | undefined,
): Promise<ConfigData> {
  const merged = emptyConfigData();
  for (const each of CONFIG_LEVELS) {
    if (each === level) break;
    const file = files[each];
    if (file === undefined) continue;
    mergeConfigData(merged, parseConfigText((await readConfigText(file)) ?? "", file));
  }
  return merged;
}

/** DVC works with the real path of `.dvc` (symlinks resolved). */
export async function canonicalDir(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    return resolve(dir);
  }
}
