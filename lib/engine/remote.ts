import { dirname } from "node:path";
import { pyRepr } from "../util/mod.ts";
import {
  canonicalDir,
  checkValue,
  clearSection,
  CONFIG_LEVELS,
  type ConfigData,
  configError,
  type ConfigFiles,
  configFiles,
  type ConfigLevel,
  displayConfigPath,
  editConfigLevel,
  emptyConfigData,
  findDvcDir,
  loadLevelsBefore,
  mergeConfigData,
  parseConfigText,
  readConfigText,
  REMOTE_PATH_OPTIONS,
  removeEntry,
  removeSection,
  renameSection,
  setEntry,
  toConfigRelative,
} from "../project/dvc_config/mod.ts";
import { remoteTypeOf } from "../project/dvc_config/schema.ts";
import { REMOTE_KEYS } from "../project/dvc_config/schema_tables.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Where a `remote` command runs and which config level it targets. */
export interface RemoteScope {
  /** Working directory (the project is found from here; relative paths are relative to it). */
  cwd: string;
  env: Env;
  /** `--system`, `--global`, `--project` (repo) or `--local`; undefined = DVC's default. */
  level?: ConfigLevel | undefined;
}

/** One line of `remote list`. */
export interface RemoteListEntry {
  name: string;
  /** The URL as DVC shows it (a relative path resolved against its config folder, normalised). */
  url: string;
  isDefault: boolean;
}

const CORE = { kind: "plain", name: "core" } as const;
const remoteRef = (name: string) => ({ kind: "remote", name }) as const;

/** `dvc remote list`: the remotes of one level, or of all levels merged. */
export async function remoteList(scope: RemoteScope): Promise<RemoteListEntry[]> {
  const data = await readScope(scope);
  const defaultName = textOf(data.sections.get("core")?.get("remote")?.value)?.toLowerCase();
  return [...data.named.remote].map(([name, section]) => {
    const url = section.get("url");
    return {
      name,
      url: url ? displayConfigPath(textOf(url.value) ?? "", url.baseDir, scope.env) : "",
      isDefault: name === defaultName,
    };
  });
}

/** `dvc remote add`: writes `['remote "<name>"']` with `url` (and `core.remote` with `-d`). */
export async function remoteAdd(
  scope: RemoteScope & { name: string; url: string; setDefault?: boolean; force?: boolean },
): Promise<void> {
  const name = scope.name.toLowerCase();
  const files = await filesOf(scope);
  await editConfigLevel(files, scope.level ?? "repo", ({ file, text, data }) => {
    if (data.named.remote.has(name) && !scope.force) {
      throw configError(`remote '${name}' already exists. Use \`-f|--force\` to overwrite it.`);
    }
    const url = toConfigRelative(scope.url, scope.cwd, dirname(file));
    let next = data.named.remote.has(name) ? clearSection(text, file, remoteRef(name)) : text;
    next = setEntry(next, file, remoteRef(name), "url", url);
    return scope.setDefault ? setEntry(next, file, CORE, "remote", name) : next;
  });
}

/** `dvc remote modify`: sets (or with `unset`, removes) one option of a remote. */
export async function remoteModify(
  scope: RemoteScope & {
    name: string;
    option: string;
    value?: string | undefined;
    unset?: boolean;
  },
): Promise<void> {
  const name = scope.name.toLowerCase();
  const option = scope.option.toLowerCase();
  const files = await filesOf(scope);
  await editConfigLevel(files, scope.level ?? "repo", ({ file, text, data, below }) => {
    const merged = mergeConfigData(copyOf(below), data);
    const section = merged.named.remote.get(name);
    if (!section) throw configError(`remote '${name}' doesn't exist.`);
    if (scope.unset) return removeEntry(text, file, remoteRef(name), option);
    if (scope.value === undefined) throw missingValue(section.get("url")?.value, name, option);
    const value = REMOTE_PATH_OPTIONS.has(option)
      ? toConfigRelative(scope.value, scope.cwd, dirname(file))
      : scope.value;
    return setEntry(text, file, remoteRef(name), option, value);
  });
}

/** `dvc remote remove`: drops the remote and every `core.remote` pointing at it up to the level. */
export async function remoteRemove(scope: RemoteScope & { name: string }): Promise<void> {
  const name = scope.name.toLowerCase();
  const files = await filesOf(scope);
  const level = scope.level ?? "repo";
  await editConfigLevel(files, level, ({ file, text, data }) => {
    if (!data.named.remote.has(name)) throw configError(`remote '${name}' doesn't exist.`);
    return removeSection(text, file, remoteRef(name));
  });
  // DVC clears `core.remote` in this level and every level shadowing it.
  for (const each of [...CONFIG_LEVELS].reverse()) {
    if (files[each] !== undefined) {
      await editConfigLevel(
        files,
        each,
        ({ file, text, data }) =>
          defaultOf(data) === name ? removeEntry(text, file, CORE, "remote") : text,
      );
    }
    if (each === level) break;
  }
}

/**
 * `dvc remote default` without a name: the default remote of the level (or
 * of all levels merged), exactly as written; undefined when none is set.
 */
export async function remoteDefaultGet(scope: RemoteScope): Promise<string | undefined> {
  const data = await readScope(scope);
  return textOf(data.sections.get("core")?.get("remote")?.value);
}

/** `dvc remote default NAME` / `--unset`: sets or clears `core.remote`. */
export async function remoteDefaultSet(
  scope: RemoteScope & { name?: string | undefined; unset?: boolean },
): Promise<void> {
  const files = await filesOf(scope);
  const level = scope.level ?? "repo";
  const name = scope.name?.toLowerCase();
  if (scope.unset || name === undefined) {
    await editConfigLevel(
      files,
      level,
      ({ file, text }) => removeEntry(text, file, CORE, "remote"),
    );
    return;
  }
  // DVC accepts a remote of the edited level or of the levels before the one
  // asked for (all levels when none was asked for).
  const known = await loadLevelsBefore(files, scope.level);
  await editConfigLevel(files, level, ({ file, text, data }) => {
    if (!data.named.remote.has(name) && !known.named.remote.has(name)) {
      throw configError("default remote must be present in remote list.");
    }
    return setEntry(text, file, CORE, "remote", name);
  });
}

/** `dvc remote rename OLD NEW`: renames the section and every `core.remote` pointing at it. */
export async function remoteRename(
  scope: RemoteScope & { name: string; newName: string },
): Promise<void> {
  const name = scope.name.toLowerCase();
  const newName = scope.newName.toLowerCase();
  const files = await filesOf(scope);
  const all = await loadLevelsBefore(files, undefined);
  if (all.named.remote.has(newName)) {
    throw configError(`Rename failed. Remote name ${pyRepr(scope.newName)} already exists.`);
  }
  const level = scope.level ?? "repo";
  await editConfigLevel(files, level, ({ file, text, data }) => {
    if (!data.named.remote.has(name)) throw configError(`remote '${name}' doesn't exist.`);
    const next = renameSection(text, file, remoteRef(name), newName);
    return defaultOf(data) === name ? setEntry(next, file, CORE, "remote", newName) : next;
  });
  for (const each of [...CONFIG_LEVELS].reverse()) {
    if (each === level) break;
    if (files[each] === undefined) continue;
    await editConfigLevel(
      files,
      each,
      ({ file, text, data }) =>
        defaultOf(data) === name ? setEntry(text, file, CORE, "remote", newName) : text,
    );
  }
}

async function filesOf(scope: RemoteScope): Promise<ConfigFiles> {
  const found = findDvcDir(scope.cwd);
  const dvcDir = found === undefined ? undefined : await canonicalDir(found);
  return configFiles({ dvcDir, env: scope.env });
}

/** One level (when given) or all levels merged, unvalidated (DVC's `Config.read`). */
async function readScope(scope: RemoteScope): Promise<ConfigData> {
  const files = await filesOf(scope);
  if (scope.level === undefined) return loadLevelsBefore(files, undefined);
  const file = files[scope.level];
  if (file === undefined) throw configError("Not inside a DVC repo");
  return parseConfigText((await readConfigText(file)) ?? "", file);
}

function defaultOf(data: ConfigData): string | undefined {
  return textOf(data.sections.get("core")?.get("remote")?.value)?.toLowerCase();
}

function textOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

function copyOf(data: ConfigData): ConfigData {
  return mergeConfigData(emptyConfigData(), data);
}

/** DVC stores `None` for an option given without a value; its schema then refuses it. */
function missingValue(url: string | string[] | undefined, name: string, option: string) {
  const type = typeof url === "string" ? remoteTypeOf(url) : "";
  const check = REMOTE_KEYS[type]?.[option];
  const where = `@ data['remote'][${pyRepr(name)}][${pyRepr(option)}]`;
  if (type !== "remote" && check === undefined) {
    return configError(`extra keys not allowed ${where}`);
  }
  const problem = (check && checkValue(check, undefined)) ?? "expected str";
  return configError(`${problem} for dictionary value ${where}`);
}
