import assert from "node:assert/strict";
import { IgnoreRules } from "../lib/dvc/dvcignore.ts";

function check(rules: IgnoreRules, cases: [string, boolean, boolean][]) {
  for (const [path, isDir, expected] of cases) {
    assert.equal(rules.isIgnored(path, isDir), expected, `${path}${isDir ? "/" : ""}`);
  }
}

Deno.test("IgnoreRules.defaults() ignores .git, .hg and .dvc folders at any depth", () => {
  check(IgnoreRules.defaults(), [
    [".git", true, true],
    [".git", false, true],
    ["a/.git", true, true],
    [".hg", true, true],
    [".hg", false, false],
    ["x/.dvc", true, true],
    ["x/.dvc", false, false],
    ["a.dvc", false, false],
  ]);
});

Deno.test("IgnoreRules matches gitignore patterns: anchoring, folders only, negation, ** and classes", () => {
  const rules = IgnoreRules.defaults().withFile(
    "",
    [
      "# comment",
      "",
      "*.log",
      "!keep.log",
      "/top.txt",
      "build/",
      "docs/**/*.tmp",
      "**/cache",
      "out/**",
      "data?.csv",
      "img[0-9].png",
      "\\#hash",
      "trailing   ",
    ].join("\n"),
  );
  check(rules, [
    ["a.log", false, true],
    ["deep/b.log", false, true],
    ["keep.log", false, false],
    ["deep/keep.log", false, false],
    ["top.txt", false, true],
    ["sub/top.txt", false, false],
    ["build", true, true],
    ["build", false, false],
    ["src/build", true, true],
    ["docs/x.tmp", false, true],
    ["docs/a/b/x.tmp", false, true],
    ["other/docs/x.tmp", false, false],
    ["cache", true, true],
    ["a/b/cache", false, true],
    ["out/x", false, true],
    ["out/a/b", true, true],
    ["out", true, false],
    ["data1.csv", false, true],
    ["data12.csv", false, false],
    ["img5.png", false, true],
    ["imgx.png", false, false],
    ["#hash", false, true],
    ["trailing", false, true],
  ]);
});

Deno.test("IgnoreRules applies a sub folder's .dvcignore relative to that folder, after its parents", () => {
  const rules = IgnoreRules.defaults().withFile("", "*.bin\n").withFile(
    "sub",
    "/only-here\n!keep.bin\n",
  );
  check(rules, [
    ["a.bin", false, true],
    ["sub/keep.bin", false, false],
    ["sub/x/keep.bin", false, false],
    ["keep.bin", false, true],
    ["sub/only-here", false, true],
    ["sub/x/only-here", false, false],
    ["only-here", false, false],
  ]);
});
