import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../errors/mod.ts";
import { configProfile, type IniFile, parseAwsIni } from "./ini.ts";

/** The AWS shared files as boto3 would find them, and the profile to use. */
export interface AwsFiles {
  readonly profile: string;
  /** True when the profile was chosen (option or AWS_PROFILE) rather than defaulted. */
  readonly profileExplicit: boolean;
  readonly credentialsPath: string;
  readonly configPath: string;
  /** `[profile]` of the credentials file, if present. */
  readonly credentials: ReadonlyMap<string, string> | undefined;
  /** `[profile x]` (or `[default]`) of the config file, if present. */
  readonly config: ReadonlyMap<string, string> | undefined;
}

/**
 * Reads `~/.aws/credentials` and `~/.aws/config` (or AWS_SHARED_CREDENTIALS_FILE /
 * AWS_CONFIG_FILE, else the remote's `credentialpath` / `configpath`: DVC sets
 * those variables only when they are unset, so the environment wins). Missing
 * files are simply empty.
 */
export async function loadAwsFiles(
  options: {
    readonly profile: string | undefined;
    readonly credentialPath: string | undefined;
    readonly configPath: string | undefined;
  },
  env: Readonly<Record<string, string | undefined>>,
): Promise<AwsFiles> {
  const home = env["HOME"] || homedir();
  const expand = (path: string) => path.startsWith("~/") ? join(home, path.slice(2)) : path;
  const credentialsPath = expand(
    env["AWS_SHARED_CREDENTIALS_FILE"] || options.credentialPath ||
      join(home, ".aws", "credentials"),
  );
  const configPath = expand(
    env["AWS_CONFIG_FILE"] || options.configPath || join(home, ".aws", "config"),
  );
  const chosen = options.profile || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"];
  const profile = chosen || "default";
  const [credentialsFile, configFile] = await Promise.all([
    readIni(credentialsPath),
    readIni(configPath),
  ]);
  return {
    profile,
    profileExplicit: chosen !== undefined && chosen !== "",
    credentialsPath,
    configPath,
    credentials: credentialsFile.get(profile),
    config: configProfile(configFile, profile),
  };
}

async function readIni(path: string): Promise<IniFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return new Map();
    throw new ConfigError(
      `Cannot read AWS file '${path}' (${code ?? "error"}): check its permissions.`,
      {
        cause: error,
      },
    );
  }
  return parseAwsIni(text);
}

/** awscli sizes (`8MB`, `16MiB`, `1048576`); KB/MB/GB are powers of 1024 as in awscli. */
export function parseAwsSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? "").toLowerCase().replace(/i?b$/, "").replace(/^b$/, "");
  const power = { "": 0, k: 1, m: 2, g: 3, t: 4 }[unit];
  return power === undefined ? undefined : Math.round(Number(match[1]) * 1024 ** power);
}
