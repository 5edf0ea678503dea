import assert from "node:assert/strict";
import { parseToml, TomlError } from "../lib/dvc/toml.ts";

Deno.test("parseToml() gives plain values: objects, numbers, dates as text", () => {
  const doc = parseToml(
    [
      'title = "caf\\u00e9 \\U0001F600"',
      "a . b = 1",
      '"dotted.key" = 2',
      "inf = +inf",
      "zero = -0.0",
      "huge = 9007199254740993",
      "offset = 1979-05-27T00:32:00.5-07:00",
      "utc = 1979-05-27 07:32:00Z",
      "day = 1979-05-27",
      "time = 07:32:00",
      '"__proto__" = { polluted = true }',
      "[[runs]]",
      "[runs.opt]",
      "lr = 0.1",
    ].join("\n"),
  );
  assert.deepEqual(doc, {
    title: "café 😀",
    a: { b: 1 },
    "dotted.key": 2,
    inf: Infinity,
    zero: -0,
    huge: 9007199254740992,
    offset: "1979-05-27T00:32:00.500-07:00",
    utc: "1979-05-27T07:32:00Z",
    day: "1979-05-27",
    time: "07:32:00",
    ["__proto__"]: { polluted: true },
    runs: [{ opt: { lr: 0.1 } }],
  });
  assert.equal(Object.getPrototypeOf(doc), Object.prototype);
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
});

Deno.test("parseToml() refuses invalid TOML, naming the line and column", () => {
  const cases: [string, RegExp][] = [
    ["a = 1\na = 2", /at line 2, column 1$/],
    [
      "a = 1 # bell \u0007",
      /^control characters are not allowed in comments at line 1, column \d+$/,
    ],
    ["a = 01", /^illegal leading zero at line 1, column 5$/],
    ["[t]\nx = 1\n[t]", /at line 3, column \d+$/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseToml(text),
      (e: unknown) => e instanceof TomlError && message.test(e.message),
      text,
    );
  }
});
