/**
 * The params fast path must give exactly what the YAML parser gives, or step
 * aside: checked against `yaml` itself on generated files that are flat
 * number maps, nearly so (one line the fast path must refuse), or neither.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseFlatNumbers } from "../lib/dvc/flat_yaml.ts";
import { fc, FUZZ_RUNS, FUZZ_SEED } from "./helpers/fuzz.ts";

const key = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/),
  fc.constantFrom("null", "True", "FALSE", "__proto__", "yes", "on", "NaN", "y", "1e3", "<<"),
);
const value = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map(String),
  fc.constantFrom(
    "0.001",
    "-0",
    "-0.0",
    "007",
    "1.",
    ".5",
    "1e3",
    "0x1f",
    "0o17",
    "123456789012345678",
    "999999999999999",
    ".inf",
    "~",
    "null",
    "true",
    "'1'",
    "1 # note",
    "1:2",
  ),
);
const anyLine = fc.tuple(
  key,
  fc.constantFrom(": ", ":  ", ":", ":\t", " : "),
  value,
  fc.constantFrom("", " ", "\r", "\t"),
).map(([k, sep, v, end]) => `${k}${sep}${v}${end}`);
const numberLine = fc.tuple(
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/),
  fc.oneof(
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
    fc.integer({ min: 0, max: 99_999 }).map((n) => `0.${String(n).padStart(5, "0")}`),
    fc.constantFrom("-0", "-0.0", "0.1", "3.14159", "100000000000000"),
  ),
).map(([k, v]) => `${k}: ${v}`);
/** Mostly lines the fast path takes, so that it answers often; sometimes one it must refuse. */
const line = fc.oneof({ arbitrary: numberLine, weight: 12 }, { arbitrary: anyLine, weight: 1 });
const file = fc.tuple(fc.array(line, { maxLength: 6 }), fc.constantFrom("", "\n", "\n\n"))
  .map(([lines, end]) => lines.join("\n") + end);

Deno.test("the flat params fast path equals the YAML parser wherever it answers", () => {
  let answered = 0;
  fc.assert(
    fc.property(file, (text) => {
      const fast = parseFlatNumbers(text);
      if (fast === undefined) return;
      answered++;
      // Object.is keeps -0 apart from 0, as the parser does.
      const slow = parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(fast), Object.keys(slow), text);
      for (const k of Object.keys(slow)) assert.ok(Object.is(fast[k], slow[k]), `${text}: ${k}`);
    }),
    { seed: FUZZ_SEED, numRuns: FUZZ_RUNS * 10 },
  );
  assert.ok(answered > FUZZ_RUNS, `the fast path answered only ${answered} times`);
});

Deno.test("the flat params fast path leaves everything but `key: number` lines to the parser", () => {
  assert.deepEqual(parseFlatNumbers("lr: 0.001\nepochs: 10\n"), { lr: 0.001, epochs: 10 });
  for (
    const text of [
      "",
      "lr: 0.1 # comment\n",
      "lr: 0.1\nlr: 0.2\n",
      "true: 1\n",
      "train:\n  lr: 0.1\n",
      "lr: 1e-3\n",
      "name: resnet\n",
      "lr: 0.1\r\n",
      "---\nlr: 0.1\n",
    ]
  ) {
    assert.equal(parseFlatNumbers(text), undefined, JSON.stringify(text));
  }
});
