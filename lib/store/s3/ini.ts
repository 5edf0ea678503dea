/**
 * The INI dialect of `~/.aws/credentials` and `~/.aws/config` as botocore
 * reads it: `[section]` headers, `key = value` (or `key: value`), full-line
 * comments with `#` or `;`, keys case-insensitive, and one level of nesting —
 * a key with an empty value followed by indented `sub = value` lines
 * (`s3 =\n  multipart_threshold = 64MB`). Nested keys come back as
 * `parent.sub`.
 */
export type IniFile = Map<string, Map<string, string>>;

export function parseAwsIni(text: string): IniFile {
  const sections: IniFile = new Map();
  let current: Map<string, string> | undefined;
  let nestedParent: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const trimmed = rawLine.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(trimmed);
    if (header) {
      const name = header[1] ?? "";
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      nestedParent = undefined;
      continue;
    }
    if (current === undefined) continue; // botocore rejects this; ignoring is kinder and harmless
    const indented = /^\s/.test(rawLine);
    const eq = trimmed.search(/[=:]/);
    if (eq < 0) continue;
    const key = trimmed.slice(0, eq).trim().toLowerCase();
    const value = trimmed.slice(eq + 1).trim();
    if (indented && nestedParent !== undefined) {
      current.set(`${nestedParent}.${key}`, value);
      continue;
    }
    current.set(key, value);
    nestedParent = value === "" ? key : undefined;
  }
  return sections;
}

/**
 * The section of profile `name` in a config file: `[profile name]`, or
 * `[default]` / `[profile default]` for the default profile.
 */
export function configProfile(file: IniFile, name: string): Map<string, string> | undefined {
  if (name === "default") return file.get("default") ?? file.get("profile default");
  return file.get(`profile ${name}`);
}
