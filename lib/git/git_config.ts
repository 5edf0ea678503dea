import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Every `section[.subsection].name` → its values in file order (last wins for single reads). */
export interface GitConfig {
  /** The last value of a key (`remote.origin.url`), or undefined. */
  get(key: string): string | undefined;
  /** All values of a key. */
  getAll(key: string): string[];
  /** Every entry, for scans such as `url.<base>.insteadof`. */
  entries(): Iterable<[key: string, value: string]>;
}

/**
 * Loads Git's configuration as git reads it: system (unless
 * `GIT_CONFIG_NOSYSTEM`), global (`GIT_CONFIG_GLOBAL`, else XDG and
 * `~/.gitconfig`), the repository's `config`, then `GIT_CONFIG_COUNT`
 * pairs. `include` directives are not followed.
 */
export function loadGitConfig(
  gitdir: string,
  env: Readonly<Record<string, string | undefined>>,
): GitConfig {
  const files: string[] = [];
  if (!env["GIT_CONFIG_NOSYSTEM"]) files.push(env["GIT_CONFIG_SYSTEM"] ?? "/etc/gitconfig");
  const home = env["HOME"] ?? homedir();
  if (env["GIT_CONFIG_GLOBAL"] !== undefined) {
    files.push(env["GIT_CONFIG_GLOBAL"]);
  } else {
    files.push(join(env["XDG_CONFIG_HOME"] || join(home, ".config"), "git", "config"));
    files.push(join(home, ".gitconfig"));
  }
  files.push(join(gitdir, "config"));
  const pairs: [string, string][] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    pairs.push(...parseGitConfig(text));
  }
  const count = Number(env["GIT_CONFIG_COUNT"] ?? "0");
  for (let i = 0; i < count; i++) {
    const key = env[`GIT_CONFIG_KEY_${i}`];
    const value = env[`GIT_CONFIG_VALUE_${i}`];
    if (key !== undefined && value !== undefined) pairs.push([normalizeKey(key), value]);
  }
  return configOf(pairs);
}

/** Builds a GitConfig from already parsed pairs. */
export function configOf(pairs: [string, string][]): GitConfig {
  return {
    get: (key) => {
      const wanted = normalizeKey(key);
      for (let i = pairs.length - 1; i >= 0; i--) {
        if (pairs[i]![0] === wanted) return pairs[i]![1];
      }
      return undefined;
    },
    getAll: (key) => {
      const wanted = normalizeKey(key);
      return pairs.filter(([k]) => k === wanted).map(([, v]) => v);
    },
    entries: () => pairs,
  };
}

/** Lower-cases section and name, keeps the subsection as written. */
function normalizeKey(key: string): string {
  const first = key.indexOf(".");
  const last = key.lastIndexOf(".");
  if (first < 0) return key.toLowerCase();
  if (first === last) return key.toLowerCase();
  return `${key.slice(0, first).toLowerCase()}${key.slice(first, last)}${
    key.slice(last).toLowerCase()
  }`;
}

/** Parses git-config text into `[key, value]` pairs (keys normalised). */
export function parseGitConfig(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  let section = "";
  const lines = text.replace(/\\\r?\n/g, "").split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) {
      const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
      if (!header) continue;
      const name = header[1]!.toLowerCase();
      section = header[2] === undefined ? name : `${name}.${header[2].replace(/\\(.)/g, "$1")}`;
      const rest = line.slice(header[0].length).trim();
      if (rest !== "" && !rest.startsWith("#") && !rest.startsWith(";")) {
        const pair = parseEntry(section, rest);
        if (pair) pairs.push(pair);
      }
      continue;
    }
    const pair = parseEntry(section, line);
    if (pair) pairs.push(pair);
  }
  return pairs;
}

function parseEntry(section: string, line: string): [string, string] | undefined {
  const match = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$/.exec(line);
  if (!match || section === "") return undefined;
  const key = `${section}.${match[1]!.toLowerCase()}`;
  return [key, match[2] === undefined ? "true" : parseValue(match[2])];
}

function parseValue(raw: string): string {
  let out = "";
  let quoted = false;
  let pendingSpace = "";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '"') {
      quoted = !quoted;
      continue;
    }
    if (!quoted && (ch === "#" || ch === ";")) break;
    if (ch === "\\" && i + 1 < raw.length) {
      const next = raw[++i]!;
      out += pendingSpace + ({ n: "\n", t: "\t", b: "\b" }[next] ?? next);
      pendingSpace = "";
      continue;
    }
    if (!quoted && (ch === " " || ch === "\t")) {
      if (out !== "") pendingSpace += ch;
      continue;
    }
    out += pendingSpace + ch;
    pendingSpace = "";
  }
  return out;
}
