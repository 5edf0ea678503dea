import type { ConfigData, SectionData, Sourced } from "./config_data.ts";
import { configError } from "./errors.ts";
import type { IniValue } from "./ini_types.ts";
import type { ConfigFiles } from "./levels.ts";
import { isUrlLike, REMOTE_PATH_OPTIONS, resolveConfigPath } from "./paths.ts";
import { remoteTypeOf, splitUrl } from "./schema.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** A DVC remote ready to use: inheritance resolved, local paths absolute. */
export interface DvcRemote {
  /** Lower-cased name. */
  readonly name: string;
  /** URL, or an absolute normalised path for a local remote. */
  readonly url: string;
  /** "" for a local path, else the URL scheme (`s3`, `ssh`, `https`, …). */
  readonly type: string;
  /** Every other option (path-valued ones resolved like the URL). */
  readonly options: Readonly<Record<string, string>>;
}

/** The merged DVC configuration of a project (or of the machine, outside one). */
export class DvcConfig {
  readonly #data: ConfigData;
  readonly #env: Env;
  /** The file of each level that was read. */
  readonly files: ConfigFiles;

  constructor(data: ConfigData, files: ConfigFiles, env: Env) {
    this.#data = data;
    this.files = files;
    this.#env = env;
  }

  /** `core.remote`, lower-cased (remote names are case-insensitive). */
  get coreRemote(): string | undefined {
    const value = this.get("core", "remote");
    return value === undefined ? undefined : joined(value).toLowerCase();
  }

  /** Remote names (lower-cased) in the order DVC lists them. */
  remoteNames(): string[] {
    return [...this.#data.named.remote.keys()];
  }

  hasRemote(name: string): boolean {
    return this.#data.named.remote.has(name.toLowerCase());
  }

  /**
   * The remote called `name` with `remote://other/sub` inheritance resolved.
   * Unknown name: DVC's `config file error: remote '<name>' doesn't exist`.
   */
  remote(name: string): DvcRemote {
    return this.#resolveRemote(name, new Set());
  }

  /** Raw keys of a remote as written (lower-cased keys, values uninterpreted). */
  remoteSection(name: string): ReadonlyMap<string, Sourced> | undefined {
    return this.#data.named.remote.get(name.toLowerCase());
  }

  /** `cache.dir` resolved against the folder of the file that sets it. */
  get cacheDir(): string | undefined {
    const sourced = this.source("cache", "dir");
    if (!sourced) return undefined;
    return resolveConfigPath(joined(sourced.value), sourced.baseDir, this.#env);
  }

  /** `cache.type` as a list of link types (`reflink,copy` → `["reflink", "copy"]`). */
  get cacheType(): string[] | undefined {
    const value = this.get("cache", "type");
    if (value === undefined) return undefined;
    return typeof value === "string" ? value.split(",").map((t) => t.trim()) : [...value];
  }

  /** `cache.shared` (`group`), lower-cased. */
  get cacheShared(): string | undefined {
    const value = this.get("cache", "shared");
    return value === undefined ? undefined : joined(value).toLowerCase();
  }

  /** The Git remote for auto push: `$DVC_EXP_GIT_REMOTE`, else `exp.git_remote`, else `origin`. */
  get expGitRemote(): string {
    const fromEnv = this.#env["DVC_EXP_GIT_REMOTE"];
    if (fromEnv !== undefined) return fromEnv;
    const value = this.get("exp", "git_remote");
    return value === undefined ? "origin" : joined(value);
  }

  /** `$DVC_EXP_AUTO_PUSH` (DVC's env2bool), else `exp.auto_push`, else false. */
  get expAutoPush(): boolean {
    const fromEnv = this.#env["DVC_EXP_AUTO_PUSH"];
    if (fromEnv !== undefined) return /1|y|yes|true/i.test(fromEnv);
    return this.getBool("exp", "auto_push") ?? false;
  }

  /** A plain section's value as written (after interpolation), or undefined. */
  get(section: string, key: string): IniValue | undefined {
    return this.source(section, key)?.value;
  }

  /** A boolean option (`true`/`false`, any case). */
  getBool(section: string, key: string): boolean | undefined {
    const value = this.get(section, key);
    return value === undefined ? undefined : joined(value).toLowerCase() === "true";
  }

  /** A plain section's value with the file it came from. */
  source(section: string, key: string): Sourced | undefined {
    return this.#data.sections.get(section.toLowerCase())?.get(key.toLowerCase());
  }

  #resolveRemote(name: string, seen: Set<string>): DvcRemote {
    const lower = name.toLowerCase();
    const section = this.#data.named.remote.get(lower);
    if (!section) throw configError(`remote '${name}' doesn't exist`);
    if (seen.has(lower)) {
      throw configError(`remote '${lower}' refers to itself through 'remote://' URLs`);
    }
    seen.add(lower);
    const own = this.#options(section);
    const rawUrl = section.get("url");
    if (!rawUrl) {
      throw configError(`expected 'url' for dictionary value @ data['remote']['${lower}']`);
    }
    const url = own.url ?? "";
    delete own.url;
    const { scheme, netloc, path } = splitUrl(url);
    if (isUrlLike(url) && !netloc && scheme !== "file") throw missingNetloc(lower, url, scheme);
    if (scheme !== "remote" || !netloc) {
      const type = remoteTypeOf(url);
      // A local remote may be written as a file:// URL; callers get the path.
      const local = type === "" && scheme === "file" ? url.replace(/^file:\/\//i, "") : url;
      return { name: lower, url: local, type, options: own };
    }
    // DVC's `_resolve_remote_refs`: the base's options, shadowed by ours, and
    // the sub-path appended to the base URL with "/".
    const base = this.#resolveRemote(netloc, seen);
    const subPath = path.replace(/^\/+/, "");
    return {
      name: lower,
      url: `${base.url}/${subPath}`,
      type: base.type,
      options: { ...base.options, ...own },
    };
  }

  #options(section: SectionData): Record<string, string> {
    const options: Record<string, string> = {};
    for (const [key, sourced] of section) {
      const value = joined(sourced.value);
      options[key] = REMOTE_PATH_OPTIONS.has(key)
        ? resolveConfigPath(value, sourced.baseDir, this.#env)
        : value;
    }
    return options;
  }
}

// Schemes whose URL names a bucket (or container) first; the others name a host.
const BUCKET_SCHEMES = new Set(["s3", "gs", "azure", "oss"]);

/**
 * `s3://` or `ssh:///path`: DVC's schema takes a URL without a host for a
 * local path and then fails somewhere deep; say what is wrong instead.
 */
function missingNetloc(name: string, url: string, scheme: string) {
  const what = BUCKET_SCHEMES.has(scheme) ? "bucket" : scheme === "remote" ? "remote name" : "host";
  return configError(
    `the URL '${url}' of remote '${name}' has no ${what}: write it as ${scheme}://<${
      what.replace(" ", "-")
    }>/<path>`,
  );
}

function joined(value: IniValue): string {
  return typeof value === "string" ? value : value.join(",");
}
