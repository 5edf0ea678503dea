import assert from "node:assert/strict";
import {
  type CollectOptions,
  collectOuts,
  type DvcOut,
  type ProjectTree,
  StageFileError,
  type TreeEntry,
} from "../lib/dvc/mod.ts";
import { UnsafePathError } from "../lib/errors/mod.ts";

const H = (n: number) => `a${n.toString(16).padStart(31, "0")}`;

/** An in-memory project: file path → text; folders are implied. */
function memoryTree(files: Record<string, string>): ProjectTree {
  return {
    readFile: (path) =>
      Promise.resolve(path in files ? new TextEncoder().encode(files[path]) : undefined),
    listDir: (path) => {
      const prefix = path === "" ? "" : `${path}/`;
      const seen = new Map<string, TreeEntry>();
      for (const file of Object.keys(files)) {
        if (!file.startsWith(prefix)) continue;
        const [name, ...rest] = file.slice(prefix.length).split("/");
        if (name) seen.set(name, { name, type: rest.length > 0 ? "dir" : "file" });
      }
      return Promise.resolve(seen.size === 0 && path !== "" ? undefined : [...seen.values()]);
    },
  };
}

/** A dvc.lock with one `outs` entry per `[stage, path, md5]`. */
function lock(entries: [string, string, string][], hashLine = "      hash: md5\n"): string {
  const stages = new Map<string, string[]>();
  for (const [stage, path, md5] of entries) {
    const list = stages.get(stage) ?? [];
    list.push(`    - path: ${path}\n${hashLine}      md5: ${md5}\n      size: 1\n`);
    stages.set(stage, list);
  }
  let text = "schema: '2.0'\nstages:\n";
  for (const [stage, outs] of stages) {
    text += `  ${stage}:\n    cmd: x\n    outs:\n${outs.join("")}`;
  }
  return text;
}

const summary = (outs: DvcOut[]) =>
  outs.map((o) => `${o.stage ?? o.stageFile}|${o.path}|${o.hash}`).sort();

Deno.test("collectOuts() expands foreach (list, mapping, list of mappings) and matrix stages to name@key lock entries", async () => {
  const tree = memoryTree({
    "dvc.yaml": `
stages:
  build:
    foreach: [uk, us]
    do:
      cmd: make \${item}
      outs:
      - out/\${item}.bin
  fit:
    foreach:
      small: {n: 1}
      big: {n: 2}
    do:
      cmd: fit
      wdir: models
      outs:
      - \${key}-\${item.n}.pkl:
          remote: other
  rows:
    foreach: [{a: 1}, {a: 2}]
    do:
      cmd: r
      outs:
      - rows\${item.a}.csv
  mix:
    matrix:
      model: [cnn, xgb]
      lr: [0.1, 1.0]
    cmd: x
    outs:
    - m/\${item.model}_\${item.lr}.bin
  km:
    matrix:
      a: [x]
      b: [{n: 1}]
    foreach: [ignored]
    do: {}
    cmd: k
    outs:
    - k/\${key}-\${item.b.n}.txt
`,
    "dvc.lock": lock([
      ["build@uk", "out/uk.bin", H(1)],
      ["build@us", "out/us.bin", H(2)],
      ["fit@small", "small-1.pkl", H(3)],
      ["fit@big", "big-2.pkl", H(4)],
      ["rows@0", "rows1.csv", H(5)],
      ["rows@1", "rows2.csv", H(6)],
      ["mix@cnn-0.1", "m/cnn_0.1.bin", H(7)],
      ["mix@cnn-1.0", "m/cnn_1.0.bin", H(8)],
      ["mix@xgb-0.1", "m/xgb_0.1.bin", H(9)],
      ["mix@xgb-1.0", "m/xgb_1.0.bin", H(10)],
      ["km@x-b0", "k/x-b0-1.txt", H(12)],
      ["build@fr", "out/fr.bin", H(11)], // stale lock entry: no such stage any more
    ]),
  });
  const { outs, warnings } = await collectOuts(tree);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(outs), [
    `build@uk|out/uk.bin|${H(1)}`,
    `build@us|out/us.bin|${H(2)}`,
    `fit@big|models/big-2.pkl|${H(4)}`,
    `fit@small|models/small-1.pkl|${H(3)}`,
    `km@x-b0|k/x-b0-1.txt|${H(12)}`,
    `mix@cnn-0.1|m/cnn_0.1.bin|${H(7)}`,
    `mix@cnn-1.0|m/cnn_1.0.bin|${H(8)}`,
    `mix@xgb-0.1|m/xgb_0.1.bin|${H(9)}`,
    `mix@xgb-1.0|m/xgb_1.0.bin|${H(10)}`,
    `rows@0|rows1.csv|${H(5)}`,
    `rows@1|rows2.csv|${H(6)}`,
  ]);
  assert.equal(outs.find((o) => o.stage === "fit@big")?.remote, "other");
});

Deno.test("collectOuts() resolves vars, params.yaml and wdir of a dvc.yaml in a subfolder", async () => {
  const tree = memoryTree({
    "sub/params.yaml": "prefix: results\nsizes: [s, m]\n",
    "sub/conf.yaml": "name: model\nunused: 1\n",
    "sub/dvc.yaml": `
vars:
  - conf.yaml:name
  - {ext: bin}
stages:
  train:
    wdir: ..
    cmd: t
    outs:
    - \${prefix}/\${name}.\${ext}
    metrics:
    - sub/metrics.json:
        cache: false
    plots:
    - sub/plot.csv
  each:
    foreach: \${sizes}
    do:
      cmd: e
      outs:
      - \${item}.out
`,
    "sub/dvc.lock": lock([
      ["train", "results/model.bin", H(1)],
      ["train", "sub/metrics.json", H(2)],
      ["train", "sub/plot.csv", H(3)],
      ["each@s", "s.out", H(4)],
      ["each@m", "m.out", H(5)],
    ]),
  });
  const { outs, warnings } = await collectOuts(tree);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(outs), [
    `each@m|sub/m.out|${H(5)}`,
    `each@s|sub/s.out|${H(4)}`,
    `train|results/model.bin|${H(1)}`,
    `train|sub/metrics.json|${H(2)}`,
    `train|sub/plot.csv|${H(3)}`,
  ]);
  assert.equal(outs.find((o) => o.path === "sub/metrics.json")?.cache, false);
  assert.equal(outs.find((o) => o.path === "sub/plot.csv")?.cache, true);
  assert.ok(outs.every((o) => o.stageFile === "sub/dvc.yaml"));
});

Deno.test("collectOuts() honours .dvcignore files, default ignores and nested DVC projects", async () => {
  const dvc = (md5: string, path: string) =>
    `outs:\n- md5: ${md5}\n  size: 1\n  hash: md5\n  path: ${path}\n`;
  const tree = memoryTree({
    ".dvcignore": "# comment\nignored/\n*.skip.dvc\n!keep.skip.dvc\n",
    "a.dvc": dvc(H(1), "a"),
    "x.skip.dvc": dvc(H(2), "x"),
    "keep.skip.dvc": dvc(H(3), "keep"),
    "ignored/b.dvc": dvc(H(4), "b"),
    "sub/.dvcignore": "/local.dvc\n",
    "sub/local.dvc": dvc(H(5), "local"),
    "sub/deeper/local.dvc": dvc(H(6), "local"),
    "nested/.dvc/config": "",
    "nested/c.dvc": dvc(H(7), "c"),
    ".git/d.dvc": dvc(H(8), "d"),
    "deep/.hg/e.dvc": dvc(H(9), "e"),
    "deep/.dvc/f.dvc": dvc(H(10), "f"),
  });
  const { outs, warnings } = await collectOuts(tree);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(outs), [
    `a.dvc|a|${H(1)}`,
    `keep.skip.dvc|keep|${H(3)}`,
    `sub/deeper/local.dvc|sub/deeper/local|${H(6)}`,
  ]);
});

Deno.test("collectOuts() does not descend into outputs of stages found earlier", async () => {
  const tree = memoryTree({
    "dvc.yaml": "stages:\n  s:\n    cmd: x\n    outs: [data, model.bin]\n",
    "data/inner.dvc": `outs:\n- md5: ${H(1)}\n  hash: md5\n  path: f\n`,
    "other/inner.dvc": `outs:\n- md5: ${H(2)}\n  hash: md5\n  path: f\n`,
  });
  const { outs } = await collectOuts(tree);
  // The stage has no lock entry (nothing to transfer) but still hides data/.
  assert.deepEqual(summary(outs), [`other/inner.dvc|other/f|${H(2)}`]);
});

Deno.test("collectOuts() skips repo imports, keeps import-url outputs and legacy entries", async () => {
  const tree = memoryTree({
    "imp.dvc": `md5: ${
      H(9)
    }\nfrozen: true\ndeps:\n- path: data/x\n  repo:\n    url: https://example.com/r.git\n    rev_lock: ${
      "a".repeat(40)
    }\nouts:\n- md5: ${H(1)}\n  size: 3\n  hash: md5\n  path: x\n`,
    "url.dvc": `md5: ${H(8)}\ndeps:\n- path: https://example.com/file\n  etag: abc\nouts:\n- md5: ${
      H(2)
    }\n  size: 3\n  hash: md5\n  path: file\n  push: false\n`,
    "old.dvc": `outs:\n- md5: ${H(3).toUpperCase()}.dir\n  size: 3\n  nfiles: 2\n  path: old\n`,
    "partial.dvc": "deps:\n- path: s3://b/k\nouts:\n- path: k\n",
  });
  const { outs } = await collectOuts(tree);
  assert.deepEqual(
    outs.map((o) => `${o.path}|${o.hash}|${o.scheme}|${o.isDir}|${o.push}|${o.nfiles ?? "-"}`)
      .sort(),
    [`file|${H(2)}|md5|false|false|-`, `old|${H(3)}.dir|md5-dos2unix|true|true|2`],
  );
});

Deno.test("collectOuts() turns unparseable stage files and bad md5s into warnings and continues", async () => {
  const tree = memoryTree({
    "broken/dvc.yaml": "stages: [\n",
    "badlock/dvc.yaml": "stages:\n  s:\n    cmd: x\n    outs: [o]\n",
    "badlock/dvc.lock": "schema: 2.0\nstages: {}\n",
    "missing/dvc.yaml": "stages:\n  s:\n    cmd: x\n    outs:\n    - \${nope}\n",
    "md5.dvc": "outs:\n- md5: ../../../etc/passwd\n  hash: md5\n  path: p\n",
    "good.dvc": `outs:\n- md5: ${H(1)}\n  hash: md5\n  path: g\n`,
  });
  const { outs, warnings } = await collectOuts(tree);
  assert.deepEqual(summary(outs), [`good.dvc|g|${H(1)}`]);
  assert.deepEqual(warnings.sort(), [
    "'badlock/dvc.lock' is invalid: line 1: unsupported schema '2' (DVC 3 writes '2.0'). Correct it and run the command again.",
    "'broken/dvc.yaml' is invalid: line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]. Correct it and run the command again.",
    "'md5.dvc' is invalid: line 2: output 'p': invalid md5 '../../../etc/passwd'. Correct it and run the command again.",
    "'missing/dvc.yaml' is invalid: line 2: could not find 'nope'. Correct it and run the command again.",
  ]);
  await assert.rejects(collectOuts(tree, { strict: true }), StageFileError);
});

Deno.test("collectOuts({ strict }) throws a StageFileError naming the file, the line and the revision", async () => {
  const conflicted = [
    "schema: '2.0'",
    "stages:",
    "  train:",
    "    cmd: x",
    "    outs:",
    "    - path: model.bin",
    "<<<<<<< HEAD",
    `      md5: ${H(1)}`,
    "=======",
    `      md5: ${H(2)}`,
    ">>>>>>> exp",
    "",
  ].join("\n");
  const cases: [Record<string, string>, CollectOptions, RegExp, { file: string; line: number }][] =
    [
      [
        {
          "dvc.yaml": "stages:\n  train:\n    cmd: x\n    outs: [model.bin]\n",
          "dvc.lock": conflicted,
        },
        { strict: true },
        /^'dvc\.lock' is invalid \(possible merge conflicts\): line 7, column 1: .+\. Resolve the merge conflict and run the command again\.$/,
        { file: "dvc.lock", line: 7 },
      ],
      [
        { "data/raw.csv.dvc": `outs:\n- path: raw.csv\n  hash: md5\n  md5: zz\n` },
        { strict: true, revision: "1f9cc1479cd534fb1c92727d455a9202197ef021" },
        /^'data\/raw\.csv\.dvc' is invalid in revision '1f9cc14': line 4: output 'raw\.csv': invalid md5 'zz'\.$/,
        { file: "data/raw.csv.dvc", line: 4 },
      ],
      [
        { "dvc.yaml": "stages:\n  a:\n    cmd: x\n  b:\n    cmd: y\n    outs: {o: 1}\n" },
        { strict: true },
        /^'dvc\.yaml' is invalid: line 6: 'outs' of stage 'b' must be a list\. Correct it/,
        { file: "dvc.yaml", line: 6 },
      ],
    ];
  for (const [files, options, message, where] of cases) {
    const error = await collectOuts(memoryTree(files), options).then(
      () => assert.fail(`no error for ${JSON.stringify(files)}`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StageFileError, String(error));
    assert.match(error.message, message);
    assert.ok(!error.message.includes("\n"), "one line");
    assert.equal(error.exitCode, 255);
    assert.equal(error.location.file, where.file);
    assert.equal(error.location.line, where.line);
    // Not strict: the same problem is a warning and the walk goes on.
    const lenient = await collectOuts(memoryTree(files), { ...options, strict: false });
    assert.equal(lenient.warnings.length, 1);
  }
});

Deno.test("collectOuts() names the stage file and line of an unsafe output path", async () => {
  const files = { "data/raw.csv.dvc": `outs:\n- md5: ${H(1)}\n  path: /etc/passwd\n` };
  await assert.rejects(
    collectOuts(memoryTree(files)),
    (e: unknown) =>
      e instanceof UnsafePathError &&
      e.message ===
        "'data/raw.csv.dvc' is invalid: line 2: Refusing output path '/etc/passwd': it is absolute; fix the file that declares it.",
  );
});

Deno.test("collectOuts() records where each output's hash is written (for rewriting it)", async () => {
  const { outs } = await collectOuts(memoryTree({
    "dvc.yaml": "stages:\n  s:\n    cmd: x\n    outs: [a, b]\n",
    "dvc.lock": lock([["s", "a", H(1)], ["s", "b", H(2)]]),
    "d/f.dvc": `outs:\n- md5: ${H(3)}\n  path: f\n`,
  }));
  assert.deepEqual(
    outs.map((o) => [o.path, o.entry?.file, o.entry?.keyPath, o.entry?.line]),
    [
      ["a", "dvc.lock", ["stages", "s", "outs", 0], 6],
      ["b", "dvc.lock", ["stages", "s", "outs", 1], 10],
      ["d/f", "d/f.dvc", ["outs", 0], 2],
    ],
  );
});

Deno.test("collectOuts() refuses output paths and wdirs that leave the project", async () => {
  const cases: Record<string, string>[] = [
    { "dvc.yaml": "stages:\n  s:\n    cmd: x\n    outs: [../../outside]\n" },
    { "dvc.yaml": "stages:\n  s:\n    cmd: x\n    wdir: ../..\n    outs: [o]\n" },
    { "sub/dvc.yaml": "stages:\n  s:\n    cmd: x\n    wdir: ../..\n    outs: [o]\n" },
    { "a.dvc": `outs:\n- md5: ${H(1)}\n  path: /etc/passwd\n` },
    { "a.dvc": `outs:\n- md5: ${H(1)}\n  path: "C:/Windows/x"\n` },
    { "a.dvc": `outs:\n- md5: ${H(1)}\n  path: "a\\0b"\n` },
    { "a.dvc": `wdir: ../x\nouts:\n- md5: ${H(1)}\n  path: f\n` },
    { "d/a.dvc": `outs:\n- md5: ${H(1)}\n  path: ../../f\n` },
  ];
  for (const files of cases) {
    await assert.rejects(collectOuts(memoryTree(files)), UnsafePathError, JSON.stringify(files));
  }
  // Climbing out of a subfolder but staying inside the project is fine.
  const ok = await collectOuts(memoryTree({ "d/a.dvc": `outs:\n- md5: ${H(1)}\n  path: ../f\n` }));
  assert.deepEqual(summary(ok.outs), [`d/a.dvc|f|${H(1)}`]);
});
