import assert from "node:assert/strict";
import { commandWord, createProgram } from "../lib/cli/program.ts";
import { normalizeArgv } from "../lib/cli/normalize_argv.ts";

const program = createProgram({ exitCode: 0, signal: new AbortController().signal });
const norm = (argv: string[]) => normalizeArgv(program, argv);

Deno.test("normalizeArgv() moves shared options typed before the command words behind them", () => {
  assert.deepEqual(norm(["-v", "--cd", "d", "exp", "list", "origin"]), {
    argv: ["exp", "list", "-v", "--cd", "d", "origin"],
    quiet: false,
    verbose: 1,
  });
  assert.deepEqual(norm(["--cd=d", "exp", "-vq", "ls"]).argv, ["exp", "ls", "--cd=d", "-vq"]);
  assert.deepEqual(norm(["--wait", "exp", "remove", "x"]).argv, [
    "exp",
    "remove",
    "--wait-for-lock",
    "x",
  ]);
  // Counted wherever they are; -q found also inside a group.
  assert.equal(norm(["-v", "exp", "list", "-v", "--verb"]).verbose, 3);
  assert.equal(norm(["exp", "-qv", "list"]).quiet, true);
  // A command that does not take them (completion) drops them.
  assert.deepEqual(norm(["-q", "completion", "bash"]).argv, ["completion", "bash"]);
  // No command reached: dropped too (commander shows the usage).
  assert.deepEqual(norm(["-v"]).argv, []);
});

Deno.test("normalizeArgv() expands prefixes at every level and leaves values and operands alone", () => {
  assert.deepEqual(norm(["exp", "list", "--all", "--na"]).argv, [
    "exp",
    "list",
    "--all-commits",
    "--names-only",
  ]);
  // A value that looks like an option is the option's value, not an option.
  assert.deepEqual(norm(["exp", "list", "--re", "--all", "-n", "-1"]).argv, [
    "exp",
    "list",
    "--rev",
    "--all",
    "-n",
    "-1",
  ]);
  assert.deepEqual(norm(["exp", "list", "--re=HEAD", "-n2"]).argv, [
    "exp",
    "list",
    "--rev=HEAD",
    "-n2",
  ]);
  // After `--` nothing is touched.
  assert.deepEqual(norm(["exp", "list", "--", "--all", "-v"]), {
    argv: ["exp", "list", "--", "--all", "-v"],
    quiet: false,
    verbose: 0,
  });
  // Operands that look like command names are operands of the leaf.
  assert.deepEqual(norm(["exp", "push", "origin", "list", "--for"]).argv, [
    "exp",
    "push",
    "origin",
    "list",
    "--force",
  ]);
  // Unknown options and unknown commands are commander's to report.
  assert.deepEqual(norm(["exp", "list", "--bogus"]).argv, ["exp", "list", "--bogus"]);
  assert.deepEqual(norm(["-v", "bogus", "--all"]).argv, ["bogus", "--all"]);
  // Aliases are command words too.
  assert.deepEqual(norm(["experiments", "rm", "--all"]).argv, [
    "experiments",
    "rm",
    "--all-commits",
  ]);
  assert.deepEqual(norm(["remote", "list", "--proj"]).argv, ["remote", "list", "--project"]);
});

Deno.test("normalizeArgv() reports argparse's ambiguity, except where only dxp's own options collide", () => {
  assert.equal(
    norm(["exp", "push", "origin", "--r"]).error,
    "ambiguous option: --r could match --rev, --remote, --run-cache",
  );
  assert.equal(
    norm(["push", "--all"]).error,
    "ambiguous option: --all could match --all-branches, --all-tags, --all-commits",
  );
  assert.equal(norm(["--v"]).error, "ambiguous option: --v could match --version, --verbose");
  // DVC has no --allow-missing, --apply, --json or --cd there: DVC's option wins.
  assert.deepEqual(norm(["exp", "push", "origin", "--all"]).argv, [
    "exp",
    "push",
    "origin",
    "--all-commits",
  ]);
  assert.deepEqual(norm(["exp", "pull", "origin", "--a"]).argv.at(-1), "--all-commits");
  assert.deepEqual(norm(["exp", "push", "origin", "--j", "2"]).argv.slice(-2), ["--jobs", "2"]);
  assert.deepEqual(norm(["status", "--c"]).argv, ["status", "--cloud"]);
  // Two spellings of one option are one option.
  assert.equal(norm(["exp", "list", "--sha"]).error, undefined);
});

Deno.test("commandWord: the top-level command a command line runs, or undefined when the whole tree is needed", () => {
  const cases: [string[], string | undefined][] = [
    [["checkout"], "checkout"],
    [["-v", "--cd", "sub", "exp", "list"], "exp"],
    [["--cd", "exp", "checkout"], "checkout"], // a folder named like a command
    [["--c", "push", "pull"], "pull"], // --cd abbreviated
    [["--cd=remote", "-q", "experiments", "show"], "experiments"],
    [["-qv", "--wait-for-lock", "status", "-c"], "status"],
    [[], undefined],
    [["--help"], undefined],
    [["-h", "checkout"], undefined],
    [["-V"], undefined],
    [["--ver"], undefined], // ambiguous: --verbose or --version, the whole tree reports it
    [["help", "checkout"], undefined],
    [["completion", "bash"], undefined],
    [["chekout"], undefined], // a typo: the whole tree suggests the right word
    [["--", "checkout"], undefined],
  ];
  for (const [argv, want] of cases) assert.equal(commandWord(argv), want, argv.join(" "));
});

Deno.test("createProgram with one command builds just it, with the options the whole tree gives it", () => {
  const state = { exitCode: 0, signal: new AbortController().signal };
  const whole = createProgram(state);
  const one = createProgram(state, "experiments");
  assert.deepEqual(one.commands.map((c) => c.name()), ["exp"]);
  interface Node {
    name(): string;
    readonly options: readonly { readonly flags: string }[];
    readonly commands: readonly Node[];
  }
  const exp = (p: Node) => p.commands.find((c) => c.name() === "exp")!;
  const shape = (c: Node): unknown => [
    c.name(),
    c.options.map((o) => o.flags),
    c.commands.map(shape),
  ];
  assert.deepEqual(shape(exp(one)), shape(exp(whole)));
  assert.ok(whole.commands.length > 7, "and the whole tree has every command and completion");
});
