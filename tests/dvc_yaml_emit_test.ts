import assert from "node:assert/strict";
import { emitYaml } from "../lib/dvc/yaml_emit.ts";
import type { PyValue } from "../lib/dvc/py_value.ts";
import { dictSha256, pyEquals, pyJsonDumps } from "../lib/dvc/py_value.ts";

const map = (entries: [string, PyValue][]) => new Map(entries);

// Expected texts produced by ruamel.yaml 0.19.1 with DVC's dumper settings
// (`YAML()`, `default_flow_style = False`).
Deno.test("emitYaml() folds a long plain cmd where ruamel does, trailing space included", () => {
  assert.equal(
    emitYaml(map([[
      "cmd",
      "python train.py --alpha 0.1 --beta 0.2 --gamma 0.3 --delta 0.4 --epsilon 0.5 --zeta 0.6 --eta 0.7",
    ]])),
    "cmd: python train.py --alpha 0.1 --beta 0.2 --gamma 0.3 --delta 0.4 --epsilon \n  0.5 --zeta 0.6 --eta 0.7\n",
  );
  assert.equal(
    emitYaml(map([[
      "cmd",
      "python train.py --name 'a b' --alpha 0.1 --beta 0.2 --gamma 0.3 --delta 0.4 --epsilon 0.5 --zeta",
    ]])),
    "cmd: python train.py --name 'a b' --alpha 0.1 --beta 0.2 --gamma 0.3 --delta 0.4\n  --epsilon 0.5 --zeta\n",
  );
});

Deno.test("emitYaml() quotes what would read back as another type and keeps unicode plain", () => {
  assert.equal(
    emitYaml(map([
      ["cmd", ["echo a", "echo 'b'", "x: y"]],
      ["v", "2.0"],
      ["e", ""],
      ["n", null],
      ["t", "yes"],
      ["u", "donn\u00e9es-\u6570\u636e"],
    ])),
    "cmd:\n- echo a\n- echo 'b'\n- 'x: y'\nv: '2.0'\ne: ''\nn:\nt: yes\nu: donn\u00e9es-\u6570\u636e\n",
  );
  assert.equal(
    emitYaml(map([
      ["s", "line1\nline2"],
      ["h", "# not a comment"],
      ["c", "a #b"],
      ["col", "a:b"],
      ["dash", "- x"],
      ["q", "it's"],
    ])),
    "s: \"line1\\nline2\"\nh: '# not a comment'\nc: 'a #b'\ncol: a:b\ndash: '- x'\nq: it's\n",
  );
});

Deno.test("emitYaml() writes params as DVC: floats as Python's repr, ints, nested maps and lists", () => {
  assert.equal(
    emitYaml(map([[
      "params",
      map([[
        "params.yaml",
        map([
          ["eval.threshold", 0.5],
          ["layers", [64n, 32n]],
          ["opt", map([["name", "adam"], ["lr", 1e-5]])],
          ["big", 100000000000000000000n],
          ["f", 1e16],
          ["nan", Number.NaN],
          ["three", 3],
        ]),
      ]]),
    ]])),
    "params:\n  params.yaml:\n    eval.threshold: 0.5\n    layers:\n    - 64\n    - 32\n    opt:\n" +
      "      name: adam\n      lr: 1e-05\n    big: 100000000000000000000\n    f: 1e+16\n    nan: .nan\n" +
      "    three: 3.0\n",
  );
});

Deno.test("pyJsonDumps() is json.dumps(sort_keys=True); dictSha256() drops size/nfiles at any depth", () => {
  const entry = map([["outs", [map([["path", "m"], ["size", 3n], ["md5", "x"]])]], ["cmd", "é"]]);
  assert.equal(
    pyJsonDumps(entry),
    '{"cmd": "\\u00e9", "outs": [{"md5": "x", "path": "m", "size": 3}]}',
  );
  assert.equal(
    dictSha256(new Map()),
    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  );
  assert.equal(
    dictSha256(entry, ["size"]),
    dictSha256(map([["cmd", "é"], ["outs", [map([["md5", "x"], ["path", "m"]])]]])),
  );
  assert.equal(pyJsonDumps([1.0, 1n, true, null]), "[1.0, 1, true, null]");
});

Deno.test("pyEquals() compares as Python: dicts in any order, 3 == 3.0, lists by position", () => {
  assert.ok(pyEquals(map([["a", 1n], ["b", 3]]), map([["b", 3n], ["a", 1]])));
  assert.ok(!pyEquals(map([["a", 1n]]), map([["a", 1n], ["b", 1n]])));
  assert.ok(!pyEquals(["a", "b"], ["b", "a"]));
  assert.ok(!pyEquals("1", 1n));
});
