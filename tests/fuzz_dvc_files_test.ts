/**
 * Fuzzing the DVC metadata another person's commit (or a remote) hands us:
 * `dvc.yaml`, `dvc.lock`, `.dvc` files, `.dir` manifests, params and metrics
 * in YAML, JSON and TOML — plus the amplification cases: YAML alias bombs,
 * deep nesting, a `matrix` that multiplies into billions of stages, a `.dir`
 * with a million entries or a duplicate relpath.
 */
import assert from "node:assert/strict";
import { CorruptError, DxpError, UnsafePathError } from "../lib/errors/mod.ts";
import { parseDirManifest, serializeDirManifest } from "../lib/dvc/dir_manifest.ts";
import { parseDvcFile } from "../lib/dvc/dvc_file.ts";
import { parseLockFile } from "../lib/dvc/lock_file.ts";
import { parseValuesFile } from "../lib/dvc/metrics_params.ts";
import { ParamsFileError, readParamsText } from "../lib/dvc/params_values.ts";
import { parsePipelineFile } from "../lib/dvc/pipeline_file.ts";
import { StageFileError } from "../lib/dvc/stage_file_error.ts";
import { parseToml, TomlError } from "../lib/dvc/toml.ts";
import { emitYaml } from "../lib/dvc/yaml_emit.ts";
import { toPyValue } from "../lib/dvc/py_value.ts";
import {
  fc,
  fuzzTarget,
  fuzzTargetAsync,
  isExactly,
  mutatedBytes,
  mutatedText,
  utf8,
} from "./helpers/fuzz.ts";

const DVC_YAML = `vars:
  - params.yaml
  - extra: {n: 3}
stages:
  train:
    cmd: python3 train.py --lr \${lr}
    wdir: .
    deps:
    - train.py
    params:
    - lr
    outs:
    - model-\${lr}.bin
    - data_out
    - local_only.txt:
        push: false
    metrics:
    - metrics.json:
        cache: false
  each:
    foreach: [a, b]
    do:
      cmd: echo \${item}
      outs: [out-\${item}]
  grid:
    matrix:
      x: [1, 2]
      y: [p, q]
    cmd: echo \${item.x}
    outs: [g-\${key}]
`;

const DVC_LOCK = `schema: '2.0'
stages:
  train:
    cmd: python3 train.py
    deps:
    - path: data/raw.csv
      hash: md5
      md5: 16b4694244dad8ca4dc555ad9b5048f8
      size: 34
    params:
      params.yaml:
        epochs: 3
        lr: 0.1
    outs:
    - path: data_out
      hash: md5
      md5: 053c2dc049fea559cb76888c6247ca21.dir
      size: 650
      nfiles: 20
    - path: model.bin
      md5: d27303159086e7fbaa4d53120facc576
      size: 54
`;

const DOT_DVC = `outs:
- md5: 16b4694244dad8ca4dc555ad9b5048f8
  size: 34
  hash: md5
  path: raw.csv
deps:
- path: other/repo
  repo:
    url: https://example.com/r.git
`;

const PARAMS = "lr: 0.1\nepochs: 3\nnested:\n  a: [1, 2, {b: c}]\n";

/** Tokens that stress YAML: anchors and aliases, merge keys, tags, flow brackets, conflicts. */
const YAML_TOKENS = [
  "&a ",
  "*a",
  "<<: *a\n",
  "!!python/object:os.system ",
  "!!binary ",
  "[",
  "{",
  "]",
  "}",
  ": ",
  "- ",
  "\n  ",
  "\t",
  "'",
  '"',
  "${",
  "}",
  "${item.x}",
  "../",
  "/etc/passwd",
  "\0",
  "__proto__",
  "constructor",
  "<<<<<<< HEAD\n",
  "? ",
  "%YAML 1.1\n",
  "---\n",
  "...\n",
  "0x",
  "1e999",
];

const readText = (files: Record<string, string>) => (path: string) =>
  Promise.resolve(files[path.replace(/^\.\//, "")]);

Deno.test("fuzz: parsePipelineFile() (dvc.yaml) returns stages or throws StageFileError/UnsafePathError", async () => {
  await fuzzTargetAsync(
    "dvc.yaml",
    fc.tuple(mutatedText([DVC_YAML], YAML_TOKENS), mutatedText([PARAMS], YAML_TOKENS)),
    async ([yaml, params]) =>
      await parsePipelineFile(yaml, "dvc.yaml", readText({ "params.yaml": params })),
    { scale: 0.5 },
  );
});

Deno.test("fuzz: parseLockFile() (dvc.lock) returns outputs or throws StageFileError", () => {
  fuzzTarget("dvc.lock", mutatedText([DVC_LOCK], YAML_TOKENS), (text) => parseLockFile(text));
});

Deno.test("fuzz: parseDvcFile() (.dvc) returns outputs or throws StageFileError", () => {
  fuzzTarget(
    "dvc file (.dvc)",
    mutatedText([DOT_DVC], YAML_TOKENS),
    (text) => parseDvcFile(text, "data.dvc"),
  );
});

Deno.test("fuzz: parseDirManifest() (.dir) returns entries or throws Corrupt/UnsafePath, and round-trips", () => {
  const manifest = serializeDirManifest([
    { md5: "60b725f10c9c85c70d97880dfe8191b3", relpath: "a.txt" },
    { md5: "3b5d5c3712955042212316173ccf37be", relpath: "sub/b é.txt" },
    { md5: "2cd6ee2c70b0bde53fbe6cac3c8b8bb1", relpath: 'z"q.bin' },
  ]);
  fuzzTarget(
    ".dir manifest",
    mutatedBytes([manifest], [
      '"relpath": "../',
      '"relpath": "/',
      "\\u0000",
      "\\ud800",
      "{}",
      "[",
      "null",
      '"a.txt"',
    ]),
    parseDirManifest,
    {
      check: (_bytes, value) => {
        // Whatever parses writes back to bytes that parse to the same entries.
        const entries = value as { md5: string; relpath: string }[];
        const again = parseDirManifest(serializeDirManifest(entries));
        assert.deepEqual(
          new Map(again.map((e) => [e.relpath, e.md5])),
          new Map(entries.map((e) => [e.relpath, e.md5])),
        );
      },
    },
  );
});

Deno.test("fuzz: parseValuesFile() (params/metrics) returns values or an error text, never throws", () => {
  const json = '{"acc": 0.9, "loss": [1, 2], "nested": {"f1": 1e3}}';
  const toml = "lr = 0.1\n[train]\nepochs = 3\nwhen = 1979-05-27T07:32:00Z\n";
  fuzzTarget(
    "params/metrics (yaml, json, toml)",
    fc.tuple(
      mutatedText([PARAMS, json, toml], [...YAML_TOKENS, "[[", "]]", '"""', "= "]),
      fc.constantFrom("params.yaml", "metrics.json", "params.toml"),
      fc.constantFrom(null, ["lr"], ["nested.a", "__proto__.polluted", "constructor.prototype.x"]),
    ),
    ([text, path, keys]) => parseValuesFile(utf8(text), path, keys),
    { allowed: () => false },
  );
});

Deno.test("fuzz: readParamsText() and parseToml() parse or throw their own errors", () => {
  fuzzTarget(
    "params for exp save",
    fc.tuple(
      mutatedText([PARAMS, "lr = 1\n[a]\nb = [1, 2]\n"], YAML_TOKENS),
      fc.constantFrom("params.yaml", "p.json", "p.toml"),
    ),
    ([text, path]) => readParamsText(text, path),
    { allowed: isExactly(ParamsFileError) },
  );
  fuzzTarget(
    "toml",
    mutatedText(['a = 1\n[t]\nb = "x"\nc = [1, {d = 2}]\n[[arr]]\ne = 1979-05-27\n'], [
      "[[",
      "]]",
      '"""',
      "'''",
      "= ",
      "\\u",
      "inf",
      "nan",
    ]),
    parseToml,
    { allowed: isExactly(TomlError) },
  );
});

Deno.test("fuzz: the dvc.lock emitter's output parses back to the same values", () => {
  const key = fc.string({ unit: "binary", minLength: 1, maxLength: 12 });
  const scalar = fc.oneof(
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.double({ noNaN: true }),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.boolean(),
    fc.constant(null),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalar,
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(key, tie("value"), { maxKeys: 4 }),
    ),
  }));
  fuzzTarget(
    "dvc.lock emitter round trip",
    fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }),
    (doc) => {
      const text = emitYaml(toPyValue(new Map(Object.entries(doc))));
      return readParamsText(text, "round.yaml");
    },
    {
      check: (doc, parsed) => assert.deepEqual(parsed, toPyValue(new Map(Object.entries(doc)))),
      scale: 0.5,
    },
  );
});

/** `a: &a [x, x, …]`, `b: &b [*a, *a, …]` … : 9^depth nodes from a few hundred bytes. */
function aliasBomb(depth: number): string {
  let text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (let i = 1; i <= depth; i++) {
    text += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]\n`;
  }
  return text;
}

Deno.test("YAML alias bombs and deep nesting in dvc.lock, .dvc, dvc.yaml and params are refused with a clear error", async () => {
  const bomb = aliasBomb(12);
  const deep = "a: " + "[".repeat(5_000) + "]".repeat(5_000) + "\n";
  for (const text of [bomb, deep]) {
    assert.throws(() => parseLockFile(text), StageFileError);
    assert.throws(() => parseDvcFile(text, "x.dvc"), StageFileError);
    await assert.rejects(() => parsePipelineFile(text, "dvc.yaml", readText({})), StageFileError);
    await assert.rejects(
      () => parsePipelineFile("stages: {}\n", "dvc.yaml", readText({ "params.yaml": text })),
      StageFileError,
    );
    assert.throws(() => readParamsText(text, "params.yaml"), ParamsFileError);
    assert.ok("error" in parseValuesFile(utf8(text), "metrics.yaml", null));
  }
  assert.throws(
    () => parseLockFile(bomb),
    (e) => e instanceof StageFileError && /alias/i.test(e.message),
  );
});

Deno.test("a dvc.yaml matrix that multiplies into billions of stages is refused, not expanded", async () => {
  const axes = Array.from({ length: 10 }, (_, i) => `      a${i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]`)
    .join("\n");
  const text = `stages:\n  grid:\n    matrix:\n${axes}\n    cmd: echo\n    outs: ["o-\${key}"]\n`;
  await assert.rejects(
    () => parsePipelineFile(text, "dvc.yaml", readText({})),
    (e) => e instanceof StageFileError && /10000000000 stages/.test(e.message),
  );
});

Deno.test("a .dir of a million entries parses in bounded memory; a duplicate relpath is refused", () => {
  const entries = Array.from({ length: 1_000_000 }, (_, i) => ({
    md5: "60b725f10c9c85c70d97880dfe8191b3",
    relpath: `d${String(i % 1000).padStart(3, "0")}/f${String(i).padStart(7, "0")}.bin`,
  }));
  // Written directly (already in order): the test is about reading it.
  const bytes = utf8(
    "[" + entries.map((e) => `{"md5": "${e.md5}", "relpath": "${e.relpath}"}`).join(", ") + "]",
  );
  assert.equal(parseDirManifest(bytes).length, 1_000_000);
  const twice = serializeDirManifest([...entries.slice(0, 10), entries[3]!]);
  assert.throws(
    () => parseDirManifest(twice),
    (e) => e instanceof CorruptError && /twice/.test(e.message),
  );
  const escape = serializeDirManifest([{ md5: entries[0]!.md5, relpath: "../../etc/passwd" }]);
  assert.throws(() => parseDirManifest(escape), UnsafePathError);
  assert.ok(new CorruptError("x") instanceof DxpError);
});
