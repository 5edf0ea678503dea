import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../lib/errors/mod.ts";
import { configDataOf, type IniValue, parseIni } from "../lib/project/dvc_config/mod.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

/** DVC's view of a text: plain sections and named ones, values after interpolation. */
function view(text: string) {
  const data = configDataOf(parseIni(text, "/p/.dvc/config"), "/p/.dvc");
  const plain = (m: Map<string, { value: IniValue }>) =>
    Object.fromEntries([...m].map(([k, v]) => [k, v.value]));
  const out: Record<string, unknown> = {};
  for (const [name, section] of data.sections) out[name] = plain(section);
  for (const kind of ["remote", "machine", "db"] as const) {
    for (const [name, section] of data.named[kind]) out[`${kind}:${name}`] = plain(section);
  }
  return out;
}

/** The ConfigError text a bad file produces. */
function errorOf(text: string): string {
  try {
    view(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.exitCode, 251);
    return error.message;
  }
  throw new Error("no error");
}

const PREFIX = "configuration error - config file error: ";

// Every expectation below was checked against configobj 5.0.8 (the parser DVC uses).
const VALUES: [string, string, IniValue][] = [
  ["unquoted list", "type = reflink,copy", ["reflink", "copy"]],
  ["trailing comma makes a one-item list", "type = reflink,", ["reflink"]],
  ["lone comma is an empty list", "type = ,", []],
  ["list with trailing comma and spaces", "type = reflink, copy, ", ["reflink", "copy"]],
  ["quoted list items", `type = 'reflink', "copy"`, ["reflink", "copy"]],
  ["quoted list item with a comma", `type = a, 'b,c', "d"`, ["a", "b,c", "d"]],
  ["quoted item then comma", `type = "a",`, ["a"]],
  ["empty quoted item then comma", `type = "",`, [""]],
  ["quoted comma is not a list", `type = "a, b"`, "a, b"],
  ["inline comment", "type = a # comment", "a"],
  ["hash without space starts a comment", "type = a#b", "a"],
  ["quoted hash", `type = "a#b" # c`, "a#b"],
  ["tab before comment", "type = a\t# c", "a"],
  ["list then comment", "type = a, b # c", ["a", "b"]],
  ["quoted value then comment with comma", "type = 'a' # c, d", "a"],
  ["empty value", "type =", ""],
  ["empty value with space", "type = ", ""],
  ["empty double quotes", `type = ""`, ""],
  ["empty single quotes", "type = ''", ""],
  ["quotes are not escapes", "type = 'it''s'", "it''s"],
  ["quote inside unquoted value", `type = 'a'b'`, "a'b"],
  ["two quoted strings read as one", `type = "a" "b"`, 'a" "b'],
  ["equals inside value", "type = a = b", "a = b"],
  ["spaces around value", "   type   =   spaced value   ", "spaced value"],
  ["plain percent", "type = 100%", "100%"],
  ["one-line triple quotes", "type = '''one line''' # c", "one line"],
  ["multi-line triple quotes", "type = '''multi\nline\nvalue'''", "multi\nline\nvalue"],
  ["multi-line keeps indentation", 'type = """a\n  b"""', "a\n  b"],
  ["multi-line with spaces and comment", "type = ''' a\n b ''' # c", " a\n b "],
  ["triple quote then quote", "type = '''a'''b'''", "a'''b"],
];

for (const [what, line, expected] of VALUES) {
  Deno.test(`parseIni() reads a value like configobj: ${what}`, () => {
    assert.deepEqual(view(`[cache]\n${line}\n`)["cache"], { type: expected });
  });
}

const ERRORS: [string, string, string][] = [
  ["unbalanced quote", '[core]\nremote = "abc\n', "Parse error in value at line 2."],
  ["empty list item", "[core]\nremote = a,,b\n", "Parse error in value at line 2."],
  ["blank list item", "[core]\nremote = a, , b\n", "Parse error in value at line 2."],
  [
    "unclosed triple quote",
    "[core]\nremote = '''never closed\nfoo\n",
    // configobj goes on after a bad line: `foo` is a second error.
    "Parsing failed with several errors. First error at line 2.",
  ],
  [
    "text after triple quote",
    "[core]\nremote = '''x''' y\n",
    "Parse error in multiline value at line 2.",
  ],
  [
    "text after a multi-line value",
    "[core]\nremote = '''a\nb''' trailing\n",
    "Parsing failed with several errors. First error at line 2.",
  ],
  [
    "duplicate key",
    "[core]\nremote = a\nremote = b\n",
    "Duplicate keyword name at line 3.",
  ],
  [
    "two bad lines",
    "[core]\nremote\n[cache]\ntype\n",
    "Parsing failed with several errors. First error at line 2.",
  ],
  [
    "duplicate section",
    "[core]\nremote = a\n[core]\n",
    "Duplicate section name at line 3.",
  ],
  [
    "duplicate remote spelled two ways",
    '[\'remote "x"\']\nurl = /a\n[remote "x"]\nurl = /b\n',
    // The second `url` lands in the first section: a duplicate key too.
    "Parsing failed with several errors. First error at line 3.",
  ],
  [
    "line without equals",
    "[core]\nremote a\n",
    "Invalid line ('remote a') (matched as neither section nor keyword) at line 2.",
  ],
  [
    "unclosed section",
    "[core\nremote = a\n",
    "Invalid line ('[core') (matched as neither section nor keyword) at line 1.",
  ],
  [
    "missing key",
    "[core]\n= v\n",
    "Invalid line ('= v') (matched as neither section nor keyword) at line 2.",
  ],
  [
    "empty section name",
    "[]\n",
    "Invalid line ('[]') (matched as neither section nor keyword) at line 1.",
  ],
  ["subsection first", "[[core]]\nremote = a\n", "Section too nested at line 1."],
  ["skipped depth", "[core]\n[[[sub]]]\nx=1\n", "Section too nested at line 2."],
  ["unbalanced brackets", "[core]]\n", "Cannot compute the section depth at line 1."],
  [
    "unknown interpolation",
    "[core]\nremote = %(nope)s\n",
    'missing option "nope" in interpolation.',
  ],
  [
    "empty interpolation name",
    "[core]\nremote = %()s\n",
    'missing option "" in interpolation.',
  ],
  [
    "self interpolation",
    "[core]\nremote = %(remote)s\n",
    'interpolation loop detected in value "remote".',
  ],
  [
    "interpolation loop",
    "[core]\na = %(b)s\nb = %(a)s\nremote = %(a)s\n",
    'interpolation loop detected in value "a".',
  ],
];

for (const [what, text, expected] of ERRORS) {
  Deno.test(`parseIni() refuses ${what} with configobj's message and the line`, () => {
    assert.equal(errorOf(text), PREFIX + expected);
  });
}

Deno.test("parseIni() reads the fixtures' DVC-written config and config.local", async () => {
  const tmp = await scratch();
  try {
    for (const fixture of ["basic", "legacy"] as const) {
      const dvcDir = join(extractFixture(fixture, tmp.dir), "repo", ".dvc");
      const config = readFileSync(join(dvcDir, "config"), "utf8");
      const local = readFileSync(join(dvcDir, "config.local"), "utf8");
      assert.deepEqual(view(config), {
        core: { remote: "store" },
        "remote:store": { url: "../../dvcstore" },
      });
      assert.deepEqual(view(local), { "remote:store": { url: "../../dvcstore" } });
    }
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("parseIni() lower-cases keys and section names, so remote names are case-insensitive", () => {
  assert.deepEqual(view('[CORE]\nRemote=Store\n[remote "Store"]\nURL=s3://b/P\n'), {
    core: { remote: "Store" },
    "remote:store": { url: "s3://b/P" },
  });
});

Deno.test("parseIni() reads Git-style and spaced remote headers like DVC's quoted form", () => {
  assert.deepEqual(view('[ \'remote "x"\' ]\nurl = /a\n[remote  "y"]\nurl = /b\n'), {
    "remote:x": { url: "/a" },
    "remote:y": { url: "/b" },
  });
});

Deno.test("parseIni() lets a later spelling of the same remote win, as DVC's lower-casing does", () => {
  assert.deepEqual(view('[remote "x"]\nurl = /a\n[remote "X"]\nurl = /b\n'), {
    "remote:x": { url: "/b" },
  });
  assert.deepEqual(view("[core]\nRemote = a\nremote = b\n"), { core: { remote: "b" } });
});

Deno.test("parseIni() interpolates %(name)s from the section, the top level and DEFAULT", () => {
  assert.deepEqual(view("[core]\na = x\nremote = %(a)s/y\n")["core"], { a: "x", remote: "x/y" });
  assert.deepEqual(view("top = t\n[core]\nremote = %(top)s\n")["core"], { remote: "t" });
  assert.deepEqual(view("[DEFAULT]\nd = dd\n[core]\nremote = %(d)s\n")["core"], { remote: "dd" });
  assert.deepEqual(view("[core]\na = 1\nremote = %(a)s and %(a)s\n")["core"], {
    a: "1",
    remote: "1 and 1",
  });
  assert.deepEqual(view("[core]\na = %(b)s\nb = z\nremote = [%(a)s]\n")["core"], {
    a: "z",
    b: "z",
    remote: "[z]",
  });
  // An unfinished pattern is plain text.
  assert.deepEqual(view("[core]\nremote = %(a\n")["core"], { remote: "%(a" });
});

Deno.test("parseIni() reads quoted keys, CRLF files, tabs and comment lines", () => {
  assert.deepEqual(view(`[core]\n"quoted key" = v\n'k2' = "v2"\n`)["core"], {
    "quoted key": "v",
    k2: "v2",
  });
  assert.deepEqual(view("# c\r\n\r\n[core] # hi\r\n\tremote = x\r\n[cache]\r\ndir = y\r\n"), {
    core: { remote: "x" },
    cache: { dir: "y" },
  });
});

Deno.test("parseIni() keeps every line, its terminator and the positions of entries", () => {
  const text =
    "# head\n[core]\n    remote = a # why\n\n['remote \"a\"']\n    url = '''x\ny'''\r\nend = 1";
  const doc = parseIni(text, "f");
  assert.equal(doc.lines.length, 8);
  assert.deepEqual(doc.terminators.slice(5), ["\n", "\r\n", ""]);
  assert.equal(doc.newline, "\n");
  const [core, remote] = doc.root.sections;
  assert.equal(core!.line, 1);
  assert.deepEqual(core!.entries[0], {
    key: "remote",
    value: "a",
    line: 2,
    endLine: 2,
    indent: "    ",
    comment: " # why",
  });
  assert.equal(remote!.name, 'remote "a"');
  assert.equal(remote!.entries[0]!.endLine, 6);
  assert.equal(remote!.lastLine, 7);
});

Deno.test("parseIni() keeps a byte order mark aside and reads the file after it", () => {
  const doc = parseIni("\ufeff[core]\nremote = a\n", "f");
  assert.equal(doc.bom, true);
  assert.equal(doc.root.sections[0]!.name, "core");
});

Deno.test("parseIni() accepts an empty file and a file of comments", () => {
  assert.deepEqual(view(""), {});
  assert.deepEqual(view("# only\n\n   # comments\n"), {});
});
