/**
 * DVC's command line is argparse's: a long option may be abbreviated to any
 * unambiguous prefix (`--all` for `--all-commits`), and the options every
 * command shares (`-q`, `-v`, `--cd`, `--wait-for-lock`) may be typed before
 * the command words (`dvc -v exp list`) as well as after them. Commander knows
 * neither, so argv is rewritten into the one form it parses: prefixes
 * expanded, shared options moved behind the command words.
 */

/** The parts of a commander Option this module reads. */
export interface OptionLike {
  readonly short?: string | undefined;
  readonly long?: string | undefined;
  readonly required: boolean;
  readonly optional: boolean;
}

/** The parts of a commander Command this module reads. */
export interface CommandLike {
  readonly commands: readonly CommandLike[];
  readonly options: readonly OptionLike[];
  name(): string;
  aliases(): string[];
}

/** One option shared by every command, as typed before the command words. */
export interface SharedOption {
  readonly short?: string;
  readonly long: string;
  readonly takesValue: boolean;
}

/** The options DVC's parent parser and main parser give every command. */
export const SHARED_OPTIONS: readonly SharedOption[] = [
  { short: "-q", long: "--quiet", takesValue: false },
  { short: "-v", long: "--verbose", takesValue: false },
  { long: "--cd", takesValue: true },
  { long: "--wait-for-lock", takesValue: false },
];

/**
 * Long options dxp has and DVC 3.64 lacks, per command path ("*": every
 * command). They never make a DVC abbreviation ambiguous: `exp push --all`
 * is `--all-commits` in DVC, so it stays so although dxp adds
 * `--allow-missing`. (`--cd` exists in DVC only before the command words.)
 */
const DXP_EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  "*": ["--cd"],
  "exp push": ["--allow-missing", "--json", "--dry-run", "--no-progress"],
  "exp pull": ["--allow-missing", "--apply", "--json", "--dry-run", "--no-progress"],
  "exp list": ["--json"],
  "push": ["--no-progress"],
  "fetch": ["--no-progress"],
  "pull": ["--no-progress"],
};

export interface NormalizedArgv {
  /** argv as commander should parse it. */
  argv: string[];
  /** `-q`/`--quiet` was given (anywhere an option is read). */
  quiet: boolean;
  /** How many times `-v`/`--verbose` was given. */
  verbose: number;
  /** argparse's message for an ambiguous abbreviation, if any (a usage error). */
  error?: string;
}

/** An option as this module matches it: every spelling, and whether a value follows. */
interface Spelling {
  readonly longs: readonly string[];
  readonly shorts: readonly string[];
  readonly takesValue: boolean;
  readonly optionalValue: boolean;
  readonly shared?: SharedOption;
  /** One of {@link DXP_EXTENSIONS}: never the reason an abbreviation is ambiguous. */
  readonly extension?: boolean;
}

const HELP: Spelling = {
  longs: ["--help"],
  shorts: ["-h"],
  takesValue: false,
  optionalValue: false,
};

/**
 * Rewrites `argv` (without the executable) for `program`:
 * - `--pre` becomes the one long option of the command that starts with it
 *   (an exact spelling always wins; two candidates are argparse's
 *   "ambiguous option" usage error);
 * - shared options typed before or between the command words move right
 *   behind the last command word (dropped when no such command is reached,
 *   or when it does not take them, like `completion`);
 * - everything after `--`, and option values, are left alone.
 */
export function normalizeArgv(program: CommandLike, argv: readonly string[]): NormalizedArgv {
  const out: string[] = [];
  const pending: Pending[] = [];
  let command = program;
  const path: string[] = [];
  let atLeaf = program.commands.length === 0;
  let operandsSeen = 0;
  let quiet = false;
  let verbose = 0;
  let error: string | undefined;

  const note = (spellings: readonly Spelling[]) => {
    for (const spelling of spellings) {
      if (spelling.shared?.long === "--quiet") quiet = true;
      if (spelling.shared?.long === "--verbose") verbose++;
    }
  };
  // Before the leaf, a shared option waits in `pending`; anything else stays in place.
  const place = (spellings: readonly Spelling[], tokens: string[]) => {
    if (!atLeaf && spellings.length > 0 && spellings.every((s) => s.shared !== undefined)) {
      pending.push({ tokens, shared: spellings.map((s) => s.shared!.long) });
    } else {
      out.push(...tokens);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const spellings = spellingsOf(command, !atLeaf, path.join(" "));

    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const typed = eq === -1 ? arg : arg.slice(0, eq);
      const found = resolveLong(spellings, typed);
      if (found.kind !== "one") {
        if (found.kind === "ambiguous") {
          error ??= `ambiguous option: ${arg} could match ${found.candidates.join(", ")}`;
        }
        out.push(arg); // unknown: commander reports it
        continue;
      }
      const spelling = found.spelling;
      note([spelling]);
      const canonical = spelling.longs[spelling.longs.length - 1]!;
      const tokens = [eq === -1 ? canonical : canonical + arg.slice(eq)];
      if (eq === -1 && takesNext(spelling, argv[i + 1])) tokens.push(argv[++i]!);
      place([spelling], tokens);
      continue;
    }

    if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
      const group = shortGroup(spellings, arg, argv[i + 1]);
      note(group.spellings);
      const tokens = [arg];
      if (group.consumesNext) tokens.push(argv[++i]!);
      place(group.complete ? group.spellings : [], tokens);
      continue;
    }

    // An operand: the next command word, or one of the leaf's arguments.
    if (!atLeaf && operandsSeen === 0) {
      const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
      out.push(arg);
      if (sub === undefined) {
        // An unknown command (or commander's `help`): commander reports it.
        out.push(...argv.slice(i + 1));
        break;
      }
      command = sub;
      path.push(sub.name());
      if (sub.commands.length === 0) {
        atLeaf = true;
        out.push(...acceptedBy(sub, pending));
        pending.length = 0;
      }
      continue;
    }
    operandsSeen++;
    out.push(arg);
  }
  return { argv: out, quiet, verbose, ...(error !== undefined ? { error } : {}) };
}

/** Shared options typed before the leaf: their words and which options they are. */
interface Pending {
  readonly tokens: readonly string[];
  readonly shared: readonly string[];
}

/** The spellings a command accepts; a group command also takes the shared ones (to move them). */
function spellingsOf(command: CommandLike, withShared: boolean, path = ""): Spelling[] {
  const extensions = new Set([...DXP_EXTENSIONS["*"]!, ...(DXP_EXTENSIONS[path] ?? [])]);
  const own: Spelling[] = command.options.map((option) => {
    const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
    const shared = SHARED_OPTIONS.find((s) => flags.includes(s.long));
    const longs = flags.filter((f) => f.startsWith("--"));
    return {
      longs,
      shorts: flags.filter((f) => !f.startsWith("--")),
      takesValue: option.required || option.optional,
      optionalValue: option.optional,
      ...(shared ? { shared } : {}),
      ...(longs.some((long) => extensions.has(long)) ? { extension: true } : {}),
    };
  });
  const all = [...own, HELP];
  if (withShared) {
    for (const shared of SHARED_OPTIONS) {
      if (own.some((s) => s.longs.includes(shared.long))) continue;
      all.push({
        longs: [shared.long],
        shorts: shared.short ? [shared.short] : [],
        takesValue: shared.takesValue,
        optionalValue: false,
        shared,
      });
    }
  }
  return all;
}

type LongMatch =
  | { kind: "one"; spelling: Spelling }
  | { kind: "none" }
  | { kind: "ambiguous"; candidates: string[] };

/** argparse's rule: an exact spelling, else the one option with a spelling starting with `typed`. */
function resolveLong(spellings: readonly Spelling[], typed: string): LongMatch {
  const exact = spellings.find((s) => s.longs.includes(typed));
  if (exact) return { kind: "one", spelling: exact };
  const matching = spellings.filter((s) => s.longs.some((long) => long.startsWith(typed)));
  if (matching.length === 1) return { kind: "one", spelling: matching[0]! };
  if (matching.length === 0) return { kind: "none" };
  const dvcOnes = matching.filter((s) => !s.extension);
  if (dvcOnes.length === 1) return { kind: "one", spelling: dvcOnes[0]! };
  // Several spellings of one option (`--name-only, --names-only`) are not ambiguous.
  const candidates = matching.flatMap((s) => s.longs.filter((long) => long.startsWith(typed)));
  return { kind: "ambiguous", candidates };
}

/**
 * Reads a group of short flags (`-q`, `-vv`, `-n2`, `-n 2`): which options it
 * names, whether every letter was known, and whether it takes the next word.
 */
function shortGroup(
  spellings: readonly Spelling[],
  arg: string,
  next: string | undefined,
): { spellings: Spelling[]; complete: boolean; consumesNext: boolean } {
  const found: Spelling[] = [];
  for (let at = 1; at < arg.length; at++) {
    const spelling = spellings.find((s) => s.shorts.includes(`-${arg[at]}`));
    if (!spelling) return { spellings: found, complete: false, consumesNext: false };
    found.push(spelling);
    if (spelling.takesValue) {
      const attached = at + 1 < arg.length;
      return {
        spellings: found,
        complete: true,
        consumesNext: !attached && takesNext(spelling, next),
      };
    }
  }
  return { spellings: found, complete: true, consumesNext: false };
}

/** Whether an option's value is the next word (commander's rule for optional values). */
function takesNext(spelling: Spelling, next: string | undefined): boolean {
  if (!spelling.takesValue || next === undefined) return false;
  if (!spelling.optionalValue) return true;
  return !next.startsWith("-") || /^-\d/.test(next);
}

/** The moved shared options the leaf understands (`completion` takes none: they are dropped). */
function acceptedBy(leaf: CommandLike, pending: readonly Pending[]): string[] {
  const longs = new Set(spellingsOf(leaf, false).flatMap((s) => s.longs));
  return pending.filter((p) => p.shared.every((long) => longs.has(long))).flatMap((p) => p.tokens);
}
