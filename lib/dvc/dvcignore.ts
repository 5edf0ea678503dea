/**
 * `.dvcignore` matching: gitignore syntax, one rule list per folder, rules of
 * deeper files evaluated after their parents', last match wins (as DVC's
 * pathspec-based filter). Supported: comments, `\` escapes, trailing-space
 * trimming, `!` negation, `/` anchoring, trailing `/` (folders only), `*`,
 * `?`, `[...]` classes and `**` in leading, middle and trailing position.
 */

interface Rule {
  /** Folder holding the `.dvcignore` (tree path, `""` for the root). */
  readonly base: string;
  readonly regex: RegExp;
  readonly negate: boolean;
  readonly dirOnly: boolean;
}

/** Patterns DVC always applies, at any depth (spec §3.2). */
const DEFAULT_PATTERNS = [".hg/", ".git/", ".git", ".dvc/"];

/** An immutable set of ignore rules; `withFile` returns an extended copy. */
export class IgnoreRules {
  private constructor(private readonly rules: readonly Rule[]) {}

  static #defaults: IgnoreRules | undefined;

  /** DVC's default ignores only (compiled once: `exp show -A` asks per revision). */
  static defaults(): IgnoreRules {
    return IgnoreRules.#defaults ??= new IgnoreRules([]).withFile("", DEFAULT_PATTERNS.join("\n"));
  }

  /** Adds the rules of the `.dvcignore` found in folder `base`. */
  withFile(base: string, text: string): IgnoreRules {
    const added: Rule[] = [];
    for (const line of text.split(/\r?\n/)) {
      const rule = compiledRule(base, line);
      if (rule) added.push(rule);
    }
    return added.length === 0 ? this : new IgnoreRules([...this.rules, ...added]);
  }

  /** True when the entry at tree path `path` is ignored. */
  isIgnored(path: string, isDir: boolean): boolean {
    let ignored = false;
    for (const rule of this.rules) {
      if (rule.dirOnly && !isDir) continue;
      let rel: string;
      if (rule.base === "") rel = path;
      else if (path.startsWith(`${rule.base}/`)) rel = path.slice(rule.base.length + 1);
      else continue;
      if (rule.regex.test(rel)) ignored = !rule.negate;
    }
    return ignored;
  }
}

/**
 * Rules already compiled, by folder and line: every revision of a project
 * usually holds the same `.dvcignore` files. Rules are immutable (their
 * regexes carry no `g` state), so sharing them is safe. Bounded: cleared
 * when full.
 */
const compiled = new Map<string, Rule | undefined>();
const COMPILED_MAX = 10_000;

function compiledRule(base: string, line: string): Rule | undefined {
  const key = `${base}\0${line}`;
  if (compiled.has(key)) return compiled.get(key);
  if (compiled.size >= COMPILED_MAX) compiled.clear();
  const rule = compileRule(base, line);
  compiled.set(key, rule);
  return rule;
}

function compileRule(base: string, raw: string): Rule | undefined {
  let line = trimTrailingSpaces(raw);
  if (line === "" || line.startsWith("#")) return undefined;
  let negate = false;
  if (line.startsWith("!")) {
    negate = true;
    line = line.slice(1);
  } else if (line.startsWith("\\!") || line.startsWith("\\#")) {
    line = line.slice(1);
  }
  let dirOnly = false;
  if (line.endsWith("/") && !line.endsWith("\\/")) {
    dirOnly = true;
    line = line.replace(/\/+$/, "");
  }
  if (line === "") return undefined;
  // A slash anywhere but the end anchors the pattern to the .dvcignore's folder.
  const anchored = line.includes("/");
  if (line.startsWith("/")) line = line.slice(1);
  const body = globToRegex(line);
  const source = anchored ? `^${body}$` : `^(?:.*/)?${body}$`;
  return { base, regex: new RegExp(source, "s"), negate, dirOnly };
}

function trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === " " && line[end - 2] !== "\\") end--;
  return line.slice(0, end);
}

function globToRegex(glob: string): string {
  let out = "";
  let i = 0;
  while (i < glob.length) {
    const ch = glob.charAt(i);
    if (ch === "*") {
      let j = i;
      while (glob[j] === "*") j++;
      const stars = j - i;
      const atStart = i === 0 || glob[i - 1] === "/";
      const atEnd = j === glob.length || glob[j] === "/";
      if (stars >= 2 && atStart && atEnd) {
        if (j === glob.length) {
          // `x/**` matches everything inside x; a bare `**` matches everything.
          out += ".*";
          i = j;
        } else {
          // `**/` matches zero or more folders.
          out += "(?:.*/)?";
          i = j + 1;
        }
        continue;
      }
      out += "[^/]*";
      i = j;
      continue;
    }
    if (ch === "?") {
      out += "[^/]";
    } else if (ch === "[") {
      const cls = readClass(glob, i);
      if (cls) {
        out += cls.regex;
        i = cls.end;
        continue;
      }
      out += "\\[";
    } else if (ch === "\\" && i + 1 < glob.length) {
      out += escapeRegex(glob.charAt(i + 1));
      i += 2;
      continue;
    } else {
      out += escapeRegex(ch);
    }
    i++;
  }
  return out;
}

function readClass(glob: string, start: number): { regex: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (glob[i] === "!" || glob[i] === "^") {
    negate = true;
    i++;
  }
  let body = "";
  let first = true;
  while (i < glob.length) {
    const ch = glob.charAt(i);
    if (ch === "]" && !first) {
      return { regex: `[${negate ? "^/" : ""}${body}]`, end: i + 1 };
    }
    if (ch === "\\" && i + 1 < glob.length) {
      body += `\\${glob.charAt(i + 1)}`;
      i += 2;
    } else {
      body += ch === "]" || ch === "[" || ch === "^" ? `\\${ch}` : ch;
      i++;
    }
    first = false;
  }
  return undefined;
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}
