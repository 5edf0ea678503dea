import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../lib/errors/mod.ts";
import {
  clearSection,
  type IniValue,
  parseIni,
  quoteValue,
  removeEntry,
  removeSection,
  renameSection,
  sectionHeader,
  setEntry,
} from "../lib/project/dvc_config/mod.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

const F = "/p/.dvc/config";
const core = { kind: "plain", name: "core" } as const;
const cache = { kind: "plain", name: "cache" } as const;
const remote = (name: string) => ({ kind: "remote", name }) as const;

/** Reads back one value the way DVC would (first matching section, lower-cased key). */
function readBack(text: string, section: string, key: string): IniValue | undefined {
  const doc = parseIni(text, F);
  const found = doc.root.sections.find((s) => s.name === section);
  return found?.entries.find((e) => e.key === key)?.value;
}

Deno.test("setEntry() writes what `dvc remote add -d myremote s3://b/p` writes into an empty config", () => {
  let text = setEntry("", F, remote("myremote"), "url", "s3://b/p");
  text = setEntry(text, F, core, "remote", "myremote");
  assert.equal(
    text,
    "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = s3://b/p\n",
  );
});

Deno.test("setEntry() adds options below a remote's url byte-for-byte as configobj writes them", () => {
  let text = "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = s3://b/p\n";
  text = setEntry(text, F, remote("myremote"), "region", "us-east-1");
  text = setEntry(text, F, remote("myremote"), "grant_read", "id=a,id=b");
  text = setEntry(text, F, remote("myremote"), "password", "p#ss");
  text = setEntry(text, F, remote("myremote"), "empty", "");
  // The bytes configobj 5.0.8 writes for the same dictionary.
  assert.equal(
    text,
    "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = s3://b/p\n" +
      '    region = us-east-1\n    grant_read = "id=a,id=b"\n    password = "p#ss"\n    empty = ""\n',
  );
  assert.equal(
    setEntry("", F, cache, "type", ["reflink", "copy"]),
    "[cache]\n    type = reflink, copy\n",
  );
});

Deno.test("setEntry() on the fixture's config changes only the edited line", async () => {
  const tmp = await scratch();
  try {
    const dvcDir = join(extractFixture("basic", tmp.dir), "repo", ".dvc");
    const original = readFileSync(join(dvcDir, "config"), "utf8");
    const edited = setEntry(original, F, remote("store"), "url", "/abs/store");
    assert.equal(edited, original.replace("url = ../../dvcstore", "url = /abs/store"));
    const added = setEntry(original, F, remote("store"), "jobs", "4");
    assert.equal(added, `${original}    jobs = 4\n`);
  } finally {
    await tmp.cleanup();
  }
});

const HAND_WRITTEN = [
  "# Team settings, do not remove",
  "",
  "[core]   # the core",
  "remote = Store   # default remote",
  "  autostage = true",
  "",
  "# our S3 bucket",
  '[remote "Store"]',
  "\turl = s3://bucket/path",
  "\tregion = eu-west-1 # Ireland",
  "",
  "# trailing comment",
].join("\r\n") + "\r\n";

Deno.test("setEntry() keeps comments, blank lines, tabs, odd indentation and CRLF of untouched lines", () => {
  const edited = setEntry(HAND_WRITTEN, F, remote("store"), "region", "us-east-1");
  assert.equal(
    edited,
    HAND_WRITTEN.replace("\tregion = eu-west-1 # Ireland", "\tregion = us-east-1 # Ireland"),
  );
  const added = setEntry(HAND_WRITTEN, F, remote("store"), "profile", "team");
  assert.equal(
    added,
    HAND_WRITTEN.replace("# Ireland\r\n", "# Ireland\r\n\tprofile = team\r\n"),
  );
  const keyAdded = setEntry(HAND_WRITTEN, F, core, "check_update", "false");
  assert.equal(
    keyAdded,
    HAND_WRITTEN.replace("autostage = true\r\n", "autostage = true\r\n  check_update = false\r\n"),
  );
});

Deno.test("setEntry() puts a new plain section before the remotes and above their comments", () => {
  const text = setEntry(HAND_WRITTEN, F, cache, "type", "copy");
  assert.equal(
    text,
    HAND_WRITTEN.replace("# our S3 bucket", "[cache]\r\n    type = copy\r\n# our S3 bucket"),
  );
  const onlyRemote = "['remote \"a\"']\n    url = /a\n";
  assert.equal(
    setEntry(onlyRemote, F, core, "remote", "a"),
    "[core]\n    remote = a\n['remote \"a\"']\n    url = /a\n",
  );
});

Deno.test("setEntry() puts a new remote after the last remote and before machines", () => {
  const text = "[core]\n    remote = a\n['remote \"a\"']\n    url = /a\n# m\n['machine \"m\"']\n" +
    "    cloud = aws\n";
  assert.equal(
    setEntry(text, F, remote("b"), "url", "/b"),
    "[core]\n    remote = a\n['remote \"a\"']\n    url = /a\n['remote \"b\"']\n    url = /b\n# m\n" +
      "['machine \"m\"']\n    cloud = aws\n",
  );
  assert.equal(
    setEntry("[core]\n    remote = a\n# tail", F, remote("a"), "url", "/a"),
    "[core]\n    remote = a\n# tail\n['remote \"a\"']\n    url = /a\n",
  );
});

Deno.test("setEntry() replaces a multi-line value and edits the last spelling of a section", () => {
  const text = "[core]\nremote = '''a\nb'''\nx = 1\n";
  assert.equal(setEntry(text, F, core, "remote", "c"), "[core]\nremote = c\nx = 1\n");
  const twice = '[remote "x"]\nurl = /a\n[remote "X"]\nURL = /b\n';
  assert.equal(
    setEntry(twice, F, remote("x"), "url", "/c"),
    '[remote "x"]\nurl = /a\n[remote "X"]\nurl = /c\n',
  );
  assert.equal(
    setEntry(text, F, core, "remote", "two\nlines"),
    "[core]\nremote = '''two\nlines'''\nx = 1\n",
  );
});

Deno.test("setEntry() keeps a byte order mark and terminates a last line that had no newline", () => {
  assert.equal(
    setEntry("\ufeff[core]\nremote = a", F, core, "autostage", "true"),
    "\ufeff[core]\nremote = a\nautostage = true\n",
  );
});

Deno.test("setEntry() refuses a value DVC would read back as an interpolation", () => {
  assert.throws(
    () => setEntry("", F, remote("a"), "password", "pa%(ss)s"),
    (error) => error instanceof ConfigError && /interpolation/.test(error.message),
  );
  assert.equal(
    setEntry("", F, remote("a"), "password", "100%"),
    "['remote \"a\"']\n    password = 100%\n",
  );
});

Deno.test("removeEntry() drops a plain section left empty but keeps an empty remote", () => {
  const text = "[core]\n    remote = a\n['remote \"a\"']\n    url = /a\n";
  assert.equal(removeEntry(text, F, core, "remote"), "['remote \"a\"']\n    url = /a\n");
  assert.equal(
    removeEntry(text, F, remote("a"), "url"),
    "[core]\n    remote = a\n['remote \"a\"']\n",
  );
  assert.equal(removeEntry(text, F, remote("a"), "region"), text);
  assert.equal(removeEntry("[core]\n    remote = a\n", F, core, "remote"), "\n");
});

Deno.test("removeEntry() keeps comments around the removed key", () => {
  const edited = removeEntry(HAND_WRITTEN, F, remote("store"), "region");
  assert.equal(edited, HAND_WRITTEN.replace("\tregion = eu-west-1 # Ireland\r\n", ""));
});

Deno.test("removeSection() removes the header, keys and inner lines, and nothing else", () => {
  const edited = removeSection(HAND_WRITTEN, F, remote("store"));
  assert.equal(
    edited,
    HAND_WRITTEN.replace(
      '[remote "Store"]\r\n\turl = s3://bucket/path\r\n\tregion = eu-west-1 # Ireland\r\n',
      "",
    ),
  );
  assert.equal(removeSection(HAND_WRITTEN, F, remote("nope")), HAND_WRITTEN);
});

Deno.test("renameSection() rewrites the header the DVC way and keeps its comment", () => {
  const text = '[remote "old"]  # keep\n    url = /a\n';
  assert.equal(
    renameSection(text, F, remote("old"), "new"),
    "['remote \"new\"']  # keep\n    url = /a\n",
  );
});

Deno.test("clearSection() empties a remote in place for `remote add -f`", () => {
  const text =
    "[core]\n    remote = a\n['remote \"a\"']\n    url = /a\n    jobs = 2\n[cache]\n    dir = c\n";
  const cleared = clearSection(text, F, remote("a"));
  assert.equal(cleared, "[core]\n    remote = a\n['remote \"a\"']\n[cache]\n    dir = c\n");
  assert.equal(
    setEntry(cleared, F, remote("a"), "url", "/b"),
    "[core]\n    remote = a\n['remote \"a\"']\n    url = /b\n[cache]\n    dir = c\n",
  );
});

// Expectations from configobj 5.0.8's `_quote` (what DVC writes).
const QUOTES: [IniValue, string][] = [
  ["plain", "plain"],
  ["", '""'],
  [" lead", '" lead"'],
  ["trail ", '"trail "'],
  ["a,b", '"a,b"'],
  ["a#b", '"a#b"'],
  ["it's", "it's"],
  ['say "hi"', `'say "hi"'`],
  [`both ' and "`, `'''both ' and "'''`],
  ["multi\nline", "'''multi\nline'''"],
  ['"start', `'"start'`],
  ["'start", `"'start"`],
  ["tab\t", '"tab\t"'],
  ["s3://b/p", "s3://b/p"],
  ["../../store", "../../store"],
  ["a = b", "a = b"],
  ["#", '"#"'],
  [",", '","'],
  [["a", "b"], "a, b"],
  [["a"], "a,"],
  [[], ","],
  [["a,b", "c"], '"a,b", c'],
  [["x y", " z"], 'x y, " z"'],
];

for (const [value, expected] of QUOTES) {
  Deno.test(`quoteValue() writes ${JSON.stringify(value)} as configobj does`, () => {
    assert.equal(quoteValue(value), expected);
  });
}

Deno.test("quoteValue() output reads back to the same value", () => {
  const values: IniValue[] = [
    ...QUOTES.map(([value]) => value),
    "a'''b\"",
    "x # y, z",
    "  both  ",
    "%",
    ["a'b", 'c"d'],
  ];
  for (const value of values) {
    const text = setEntry("", F, core, "remote", value);
    assert.deepEqual(readBack(text, "core", "remote"), value, JSON.stringify(value));
  }
});

Deno.test("quoteValue() refuses what configobj cannot quote", () => {
  assert.throws(() => quoteValue(`a'''b"""c`), ConfigError);
  assert.throws(() => quoteValue(['it\'s "x"']), ConfigError);
});

Deno.test("sectionHeader() quotes named sections like DVC", () => {
  assert.equal(sectionHeader("core"), "[core]");
  assert.equal(sectionHeader('remote "my remote"'), `['remote "my remote"']`);
});
