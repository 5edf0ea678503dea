import assert from "node:assert/strict";
import { InterpolationError, pyFloatRepr, resolveString } from "../lib/dvc/interpolate.ts";

Deno.test("resolveString() keeps the type of a whole-string reference and formats embedded ones as DVC", () => {
  const ctx = { a: { b: [10n, 2.0, true] }, s: "x", f: 0.5 };
  assert.deepEqual(resolveString("${a.b}", ctx), [10n, 2.0, true]);
  assert.equal(resolveString("${ a.b[0] }", ctx), 10n);
  assert.equal(
    resolveString("p/${a.b[0]}-${a.b[1]}-${a.b[2]}-${s}-${f}", ctx),
    "p/10-2.0-true-x-0.5",
  );
  assert.equal(resolveString("plain", ctx), "plain");
  assert.throws(() => resolveString("${missing}", ctx), InterpolationError);
  assert.throws(() => resolveString("x${a}", ctx), InterpolationError);
  assert.throws(() => resolveString("${a.b[7]}", ctx), InterpolationError);
});

Deno.test("pyFloatRepr() prints floats as Python's repr does", () => {
  const cases: [number, string][] = [
    [0.1, "0.1"],
    [1, "1.0"],
    [-2.5, "-2.5"],
    [123.456, "123.456"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [1e15, "1000000000000000.0"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.25e-7, "1.25e-07"],
    [0, "0.0"],
    [0.30000000000000004, "0.30000000000000004"],
  ];
  for (const [n, text] of cases) assert.equal(pyFloatRepr(n), text, String(n));
});
