import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { renderExpShow } from "../lib/cli/render/exp_show.ts";
import { renderExpShowJson } from "../lib/cli/render/exp_show_json.ts";
import { displayWidth } from "../lib/cli/render/exp_show_text.ts";
import { parseToml, TomlError } from "../lib/dvc/toml.ts";
import { expShow, type ExpShowResult, type ExpShowRev } from "../lib/engine/exp/show.ts";
import { formatG, formatValue } from "../lib/engine/exp/show_format.ts";
import { expShowTable, type ExpShowTableOptions } from "../lib/engine/exp/show_table.ts";
import { InvalidArgumentError } from "../lib/errors/mod.ts";
import { openProject } from "../lib/project/project.ts";
import { commitExp, commitFiles, g, initRepo } from "./helpers/git_repo.ts";
import { extractFixture, goldenEnv, run, scratch } from "./helpers/tmp.ts";

type Values = Record<string, unknown>;

/** A file of a commit as `git show` prints it, or undefined when the commit lacks it. */
function gitShow(repo: string, sha: string, path: string): string | undefined {
  const r = run("git", ["show", `${sha}:${path}`], { cwd: repo });
  return r.code === 0 ? r.stdout : undefined;
}

/** What the revision's own files say (read with git or from the work tree, never hard-coded). */
function truth(repo: string, rev: string): { params?: Values; metrics?: Values } {
  const read = (path: string) =>
    rev === "workspace" ? readFileSync(join(repo, path), "utf8") : gitShow(repo, rev, path);
  const params = read("params.yaml");
  let metrics: string | undefined;
  try {
    metrics = read("metrics.json");
  } catch {
    metrics = undefined;
  }
  return {
    ...(params !== undefined ? { params: parseYaml(params) as Values } : {}),
    ...(metrics !== undefined ? { metrics: JSON.parse(metrics) as Values } : {}),
  };
}

function dataOf(rev: ExpShowRev, kind: "params" | "metrics", file: string): unknown {
  const values = rev[kind].get(file);
  assert.ok(values !== undefined && "data" in values, `${rev.rev} ${file}`);
  return values.data;
}

function allRevs(result: ExpShowResult): ExpShowRev[] {
  return [result.workspace, ...result.baselines.flatMap((b) => [b, ...b.experiments])];
}

async function withFixture(
  name: "basic" | "legacy",
  body: (repo: string, home: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await scratch("dxp-exp-show-");
  try {
    await body(join(extractFixture(name, dir), "repo"), dir);
  } finally {
    await cleanup();
  }
}

const show = (repo: string, home: string, options: Parameters<typeof expShow>[1] = {}) =>
  expShow(openProject(repo, goldenEnv(home)), options);

/** Rows of a rendered table as cell lists: the plain table (split on runs of spaces) or Markdown. */
function parseRendered(text: string, format: "table" | "md"): string[][] {
  const lines = text.split("\n").filter((l) => l !== "");
  if (format === "md") {
    return lines.filter((_, i) => i !== 1).map((l) =>
      l.slice(1, -1).split(" | ").map((c) => c.trim())
    );
  }
  return lines.filter((l) => !l.startsWith(" ─")).map((l) => l.trim().split(/ {2,}/));
}

function parseCsv(text: string): string[][] {
  assert.ok(text.endsWith("\r\n"));
  return text.slice(0, -2).split("\r\n").map((l) => l.split(","));
}

/** `a` printed with 5 significant digits is `b` (or equal for integers and strings). */
function sameShown(text: string, value: unknown, where: string): void {
  if (typeof value === "number" && !Number.isInteger(value)) {
    assert.ok(
      Math.abs(Number(text) - value) <= Math.abs(value) * 1e-4,
      `${where}: ${text} ≠ ${value}`,
    );
  } else {
    assert.equal(text, String(value), where);
  }
}

Deno.test("expShow() reads every baseline's and experiment's params and metrics from its own commit (basic, -A)", async () => {
  await withFixture("basic", async (repo, home) => {
    const result = await show(repo, home, { allCommits: true });
    // -A: every commit reachable from HEAD, branches, tags and remotes (experiments are not baselines).
    const shas = g(["rev-list", "HEAD", "--branches", "--tags", "--remotes"], repo).trim().split(
      "\n",
    );
    assert.deepEqual(new Set(result.baselines.map((b) => b.rev)), new Set(shas));
    // Experiment refs have five parts; internal ones (refs/exps/exec/…) are skipped.
    const exps = g(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/"], repo)
      .trim().split("\n").filter((l) => l.split(" ")[1]!.split("/").length === 5)
      .map((l) => l.split(" ")[0]);
    assert.deepEqual(
      new Set(result.baselines.flatMap((b) => b.experiments.map((e) => e.rev))),
      new Set(exps),
    );
    for (const rev of allRevs(result)) {
      const expected = truth(repo, rev.rev);
      assert.deepEqual(dataOf(rev, "params", "params.yaml"), expected.params, rev.rev);
      assert.deepEqual(dataOf(rev, "metrics", "metrics.json"), expected.metrics, rev.rev);
      assert.deepEqual(rev.errors, []);
    }
    for (const baseline of result.baselines) {
      for (const exp of baseline.experiments) {
        const ref = g([
          "for-each-ref",
          "--format=%(refname)",
          `--points-at=${exp.rev}`,
          "refs/exps/",
        ], repo).trim();
        assert.equal(exp.ref, ref);
        assert.equal(ref.split("/").slice(2, 4).join(""), baseline.rev);
        assert.equal(exp.name, ref.split("/")[4]);
        assert.equal(exp.timestamp, Number(g(["log", "-1", "--format=%ct", exp.rev], repo).trim()));
      }
      // Newest first within a baseline, as DVC.
      const times = baseline.experiments.map((e) => e.timestamp!);
      assert.deepEqual(times, [...times].sort((a, b) => b - a));
    }
    // -A lists baselines newest first; HEAD's branch names its baseline.
    assert.equal(result.baselines[0]!.rev, g(["rev-parse", "HEAD"], repo).trim());
    assert.equal(result.baselines[0]!.name, "main");
    assert.equal(result.baselines[1]!.name, null);
  });
});

Deno.test("expShow() selects baselines with --rev and -n and reads the legacy fixture's params", async () => {
  await withFixture("basic", async (repo, home) => {
    const b1 = g(["rev-parse", "HEAD~1"], repo).trim();
    const onlyB1 = await show(repo, home, { revs: [b1.slice(0, 7)] });
    assert.deepEqual(onlyB1.baselines.map((b) => b.rev), [b1]);
    assert.deepEqual(onlyB1.baselines[0]!.experiments.map((e) => e.name).sort(), [
      "exp-a",
      "exp-b",
    ]);
    const head = await show(repo, home);
    assert.deepEqual(head.baselines.map((b) => b.rev), [g(["rev-parse", "HEAD"], repo).trim()]);
    const two = await show(repo, home, { num: 2 });
    assert.deepEqual(
      two.baselines.map((b) => b.rev),
      g(["rev-list", "-n", "2", "HEAD"], repo).trim().split("\n"),
    );
    await assert.rejects(show(repo, home, { revs: ["no-such-rev"] }), InvalidArgumentError);
  });
  await withFixture("legacy", async (repo, home) => {
    const result = await show(repo, home, { allCommits: true });
    assert.equal(allRevs(result).length, 4);
    for (const rev of allRevs(result)) {
      assert.deepEqual(dataOf(rev, "params", "params.yaml"), truth(repo, rev.rev).params);
      assert.equal(rev.metrics.size, 0);
    }
  });
});

Deno.test("expShowTable() and renderExpShow() show each commit's values in the table, Markdown and CSV", async () => {
  await withFixture("basic", async (repo, home) => {
    const result = await show(repo, home, { allCommits: true });
    const revs = allRevs(result);
    for (const format of ["table", "md", "csv"] as const) {
      const table = expShowTable(result, { precision: format === "csv" ? null : 5 });
      const text = renderExpShow(table, format, { now: new Date(0) });
      const [header, ...rows] = format === "csv" ? parseCsv(text) : parseRendered(text, format);
      const names = header!;
      assert.equal(rows.length, revs.length, format);
      rows.forEach((cells, i) => {
        const rev = revs[i]!;
        const expected = truth(repo, rev.rev);
        const at = (name: string) => {
          const index = names.indexOf(name);
          assert.ok(index >= 0, `${format}: no column ${name} in ${names}`);
          return cells[index]!;
        };
        const id = format === "csv" ? at("rev") : at("Experiment");
        if (rev.rev === "workspace") assert.equal(id, "workspace");
        else if (table.rows[i]!.kind === "experiment") {
          assert.ok(id.includes(rev.rev.slice(0, 7)), `${format}: ${id}`);
          assert.equal(
            format === "csv" ? at("Experiment") : id.replace(/^.*\[|\]$/g, ""),
            table.rows[i]!.name,
          );
        } else assert.ok([rev.rev.slice(0, 7), "main"].includes(id), id);
        for (const [key, value] of Object.entries(expected.metrics!)) {
          if (format === "csv") assert.equal(at(key), String(value));
          else sameShown(at(key), value, `${format} ${rev.rev} ${key}`);
        }
        for (const [key, value] of Object.entries(expected.params!)) {
          assert.equal(at(key), String(value), `${format} ${rev.rev} ${key}`);
        }
        if (format === "csv" && rev.timestamp !== null) {
          const local = [
            "log",
            "-1",
            "--date=format-local:%Y-%m-%dT%H:%M:%S",
            "--format=%cd",
            rev.rev,
          ];
          assert.equal(at("Created"), g(local, repo).trim());
        }
      });
    }
    // Experiment rows hang under their baseline with DVC's tree glyphs.
    const plain = renderExpShow(expShowTable(result, { precision: 5 }), "table");
    assert.match(
      plain,
      /\n {2}main +\S.*\n {2}├── [0-9a-f]{7} \[\S+\] .*\n {2}└── [0-9a-f]{7} \[\S+\] /,
    );
  });
});

Deno.test("renderExpShowJson() carries every revision's files in DVC's list shape", async () => {
  await withFixture("basic", async (repo, home) => {
    const result = await show(repo, home, { allCommits: true });
    const json = JSON.parse(renderExpShowJson(result)) as {
      rev: string;
      name: string | null;
      data: { timestamp: string | null; params: Values; metrics: Values };
      experiments: {
        name: string;
        revs: { rev: string; data: { params: Values; metrics: Values } }[];
      }[] | null;
    }[];
    assert.equal(json[0]!.rev, "workspace");
    assert.equal(json[0]!.data.timestamp, null);
    const states = json.flatMap((s) => [s, ...(s.experiments ?? []).flatMap((e) => e.revs)]);
    assert.equal(states.length, allRevs(result).length);
    for (const s of states) {
      const expected = truth(repo, s.rev);
      assert.deepEqual(s.data.params, { "params.yaml": { data: expected.params } });
      assert.deepEqual(s.data.metrics, { "metrics.json": { data: expected.metrics } });
    }
    assert.equal(json[1]!.name, "main");
    assert.equal(json[1]!.data.timestamp, "2024-01-02T00:00:00+00:00");
  });
});

Deno.test("expShowTable() sorts experiments within each baseline by --sort-by", async () => {
  await withFixture("basic", async (repo, home) => {
    const result = await show(repo, home, { allCommits: true });
    for (const order of ["asc", "desc"] as const) {
      for (const column of ["acc", "metrics.json:loss", "lr"]) {
        const table = expShowTable(result, { precision: 5, sortBy: column, sortOrder: order });
        const index = table.columns.findIndex((c) => c.key === column.split(":").pop());
        let group: number[] = [];
        const groups: number[][] = [];
        for (const row of table.rows) {
          if (row.kind !== "experiment") {
            if (group.length) groups.push(group);
            group = [];
            continue;
          }
          const cell = row.cells[index]!;
          assert.ok("value" in cell);
          group.push(cell.value as number);
        }
        if (group.length) groups.push(group);
        assert.equal(groups.length, 2);
        for (const values of groups) {
          const sorted = [...values].sort((a, b) => (order === "asc" ? a - b : b - a));
          assert.deepEqual(values, sorted, `${column} ${order}`);
        }
        // Baselines keep their place; every experiment stays under its own baseline.
        assert.deepEqual(
          table.rows.filter((r) => r.kind !== "experiment").map((r) => r.rev),
          ["workspace", ...result.baselines.map((b) => b.rev)],
        );
      }
    }
    assert.throws(
      () => expShowTable(result, { precision: 5, sortBy: "nope" }),
      /Unknown sort column 'nope'/,
    );
    assert.throws(
      () => expShowTable(result, { precision: 5, sortBy: "other.json:acc" }),
      InvalidArgumentError,
    );
  });
});

Deno.test("expShowTable() keeps only changing columns with --only-changed and honours --drop/--keep", async () => {
  await withFixture("basic", async (repo, home) => {
    for (const allCommits of [false, true]) {
      const result = await show(repo, home, { allCommits });
      const revs = allRevs(result);
      const all = expShowTable(result, { precision: 5 });
      const changed = expShowTable(result, { precision: 5, onlyChanged: true });
      for (const column of all.columns) {
        const kind = column.kind === "metric" ? "metrics" : "params";
        const values = new Set(
          revs.map((r) => JSON.stringify(truth(repo, r.rev)[kind]![column.key])),
        );
        assert.equal(
          changed.columns.some((c) => c.header === column.header),
          values.size > 1,
          column.header,
        );
      }
      const kept = expShowTable(result, { precision: 5, onlyChanged: true, keep: "epochs" });
      assert.ok(kept.columns.some((c) => c.key === "epochs"));
    }
    const result = await show(repo, home);
    const dropped = expShowTable(result, { precision: 5, drop: "lo|ep" });
    assert.deepEqual(dropped.columns.map((c) => c.header), ["acc", "rows", "lr"]);
    const only = expShowTable(result, { precision: 5, drop: ".*", keep: "acc" });
    assert.deepEqual(only.columns.map((c) => c.header), ["acc"]);
    assert.equal(only.created, false);
    assert.equal(renderExpShow(only, "csv").split("\r\n")[0], "Experiment,rev,typ,parent,acc");
    assert.throws(() => expShowTable(result, { precision: 5, drop: "(" }), InvalidArgumentError);
  });
});

Deno.test("renderExpShow() fits a terminal width by narrowing and hiding columns", async () => {
  await withFixture("basic", async (repo, home) => {
    const table = expShowTable(await show(repo, home, { allCommits: true }), { precision: 5 });
    const full = renderExpShow(table, "table");
    const fullWidth = Math.max(...full.split("\n").map(displayWidth));
    for (const width of [120, fullWidth, fullWidth - 1, 70, 50, 40, 30]) {
      const text = renderExpShow(table, "table", { width });
      for (const line of text.split("\n")) {
        assert.ok(displayWidth(line) <= width, `${width}: '${line}'`);
      }
      assert.equal(text === full, width >= fullWidth, `width ${width}`);
      for (const row of table.rows.filter((r) => r.kind === "experiment")) {
        const id = `${row.rev.slice(0, 7)} [${row.name}]`;
        assert.ok(text.includes(id), `${width}: experiment id ${id} stays whole`);
      }
    }
    const bold = renderExpShow(table, "table", { color: true });
    assert.ok(bold.includes("\x1b[1m  main "));
    assert.ok(!full.includes("\x1b"));
  });
});

/** A hand-made DVC project (git CLI only) with the given files committed on main. */
async function handMade(
  files: Record<string, string>,
  body: (repo: string, home: string, base: string) => Promise<void>,
) {
  const { dir, cleanup } = await scratch("dxp-exp-show-hand-");
  try {
    const repo = initRepo(join(dir, "repo"));
    const base = commitFiles(repo, { ".dvc/config": "", ".dvcignore": "", ...files }, "baseline");
    await body(repo, dir, base);
  } finally {
    await cleanup();
  }
}

Deno.test("expShow() reads TOML, JSON and YAML params and metrics declared by stages, top-level lists and folders", async () => {
  const dvcYaml = `
params:
  - extra.yaml
metrics:
  - eval
stages:
  train:
    cmd: python train.py
    params:
      - lr
      - config.toml:
          - train.batch
          - model
      - settings.json:
      - sub/more.yaml:
          - deep.x
    metrics:
      - scores.toml:
          cache: false
  per:
    foreach: [a, b]
    do:
      cmd: echo \${item}
      metrics:
        - m-\${item}.json
`;
  const toml = `# training
title = "run"
[train]
batch = 32
epochs = 10
[model]
layers = [64, 32]
"act fn" = 'relu'
dropout = 0.25
`;
  await handMade({
    "dvc.yaml": dvcYaml,
    "params.yaml": "lr: 0.01\nseed: 20170428\nnested:\n  flag: true\n",
    "config.toml": toml,
    "settings.json": '{"opt": {"name": "adam", "beta": [0.9, 0.999]}}',
    "sub/more.yaml": "deep:\n  x: 1\n  y: 2\n",
    "extra.yaml": "extra_key: on\n",
    "scores.toml": "auc = 0.91234567\n[per_class]\ncat = 0.5\n",
    "eval/a.json": '{"f1": 0.7}',
    "eval/b/c.yaml": "recall: 0.66\n",
    "m-a.json": '{"ma": 1}',
    "m-b.json": '{"mb": 2}',
  }, async (repo, home, base) => {
    const exp = commitExp(repo, base, "bigger", {
      "config.toml": toml.replace("batch = 32", "batch = 64"),
      "scores.toml": "auc = 0.95\n",
    });
    const result = await show(repo, home);
    const baseline = result.baselines[0]!;
    assert.equal(baseline.rev, base);
    assert.deepEqual([...baseline.params.keys()], [
      "params.yaml",
      "config.toml",
      "settings.json",
      "sub/more.yaml",
      "extra.yaml",
    ]);
    assert.deepEqual(dataOf(baseline, "params", "params.yaml"), {
      lr: 0.01,
      seed: 20170428,
      nested: { flag: true },
    });
    assert.deepEqual(dataOf(baseline, "params", "config.toml"), {
      train: { batch: 32 },
      model: { layers: [64, 32], "act fn": "relu", dropout: 0.25 },
    });
    assert.deepEqual(dataOf(baseline, "params", "settings.json"), {
      opt: { name: "adam", beta: [0.9, 0.999] },
    });
    assert.deepEqual(dataOf(baseline, "params", "sub/more.yaml"), { deep: { x: 1 } });
    assert.deepEqual(dataOf(baseline, "params", "extra.yaml"), { extra_key: "on" });
    assert.deepEqual([...baseline.metrics.keys()], [
      "scores.toml",
      "m-a.json",
      "m-b.json",
      "eval/a.json",
      "eval/b/c.yaml",
    ]);
    assert.deepEqual(dataOf(baseline, "metrics", "scores.toml"), {
      auc: 0.91234567,
      per_class: { cat: 0.5 },
    });
    const e = baseline.experiments[0]!;
    assert.equal(e.rev, exp);
    const expToml = parseToml(gitShow(repo, exp, "config.toml")!) as {
      train: Values;
      model: Values;
    };
    assert.deepEqual(dataOf(e, "params", "config.toml"), {
      train: { batch: expToml.train["batch"] },
      model: expToml.model,
    });
    assert.deepEqual(dataOf(e, "metrics", "scores.toml"), { auc: 0.95 });

    const table = expShowTable(result, { precision: 5 });
    const headers = table.columns.map((c) => c.header);
    assert.deepEqual(headers, [
      "auc",
      "per_class.cat",
      "ma",
      "mb",
      "f1",
      "recall",
      "lr",
      "seed",
      "nested.flag",
      "train.batch",
      "model.layers",
      "model.act fn",
      "model.dropout",
      "opt.name",
      "opt.beta",
      "deep.x",
      "extra_key",
    ]);
    const text = renderExpShow(table, "table");
    const [, ...rows] = parseRendered(text, "table");
    const cell = (row: number, header: string) => rows[row]![headers.indexOf(header) + 2];
    assert.equal(cell(1, "auc"), "0.91235");
    assert.equal(cell(1, "seed"), "20170428");
    assert.equal(cell(1, "nested.flag"), "True");
    assert.equal(cell(1, "model.layers"), "[64, 32]");
    assert.equal(cell(1, "opt.beta"), "[0.9, 0.999]");
    assert.equal(cell(2, "train.batch"), "64");
    assert.equal(cell(2, "auc"), "0.95");
    assert.equal(cell(2, "per_class.cat"), "-");
  });
});

Deno.test("expShow() reads a cached metrics file from .dvc/cache and marks unreadable files with '!'", async () => {
  const metrics = '{"acc": 0.5}';
  const md5 = run("md5sum", [], { input: metrics }).stdout.slice(0, 32);
  await handMade({
    "dvc.yaml":
      "stages:\n  s:\n    cmd: x\n    metrics:\n      - cached.json\n    params:\n      - p.json:\n",
    "dvc.lock":
      `schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: cached.json\n      hash: md5\n      md5: ${md5}\n      size: ${metrics.length}\n`,
    "p.json": "{broken",
  }, async (repo, home) => {
    const object = join(repo, ".dvc", "cache", "files", "md5", md5.slice(0, 2), md5.slice(2));
    mkdirSync(dirname(object), { recursive: true });
    writeFileSync(object, metrics);
    const result = await show(repo, home);
    for (const rev of [result.workspace, result.baselines[0]!]) {
      assert.deepEqual(dataOf(rev, "metrics", "cached.json"), { acc: 0.5 });
      const p = rev.params.get("p.json");
      assert.ok(p !== undefined && "error" in p && /not valid JSON/.test(p.error));
    }
    const table = expShowTable(result, { precision: 5 });
    assert.deepEqual(table.columns.map((c) => c.header), ["acc"]);
    // Missing file in the workspace: '-' (no value), not an error.
    writeFileSync(
      join(repo, "dvc.yaml"),
      "stages:\n  s:\n    cmd: x\n    metrics:\n      - gone.json\n",
    );
    const after = await show(repo, home);
    assert.equal(after.workspace.metrics.size, 0);
    const text = renderExpShow(expShowTable(after, { precision: 5 }), "md");
    assert.match(text, /\| workspace +\| - +\| - +\|/);
    // A broken dvc.yaml hides that revision's values, shown as '!', with the reason.
    writeFileSync(join(repo, "dvc.yaml"), "stages: [\n");
    const broken = await show(repo, home);
    assert.equal(broken.workspace.errors.length, 1);
    assert.match(broken.workspace.errors[0]!, /dvc\.yaml/);
    assert.match(
      renderExpShow(expShowTable(broken, { precision: 5 }), "csv"),
      /^,workspace,baseline,,,!\r\n/m,
    );
  });
});

Deno.test("parseToml() reads the TOML forms params files use and rejects malformed text", () => {
  const doc = parseToml(`
# comment
a = 1
b.c = "x\\ty"   # dotted
'lit key' = 'C:\\path'
hex = 0xff
oct = 0o17
bin = 0b101
big = 1_000_000
neg = -3.5e-2
inf1 = -inf
yes = true
when = 1979-05-27T07:32:00Z
arr = [ 1, [2, 3], "s", ]
multi = """
line1
line2\\
   joined"""
raw = '''
keep \\n'''
inline = { x = 1, y.z = 2 }
[t]
k = "v"
[t.sub]
k2 = 2
[[items]]
name = "one"
[[items]]
name = "two"
[items.meta]
ok = false
`);
  assert.deepEqual(doc, {
    a: 1,
    b: { c: "x\ty" },
    "lit key": "C:\\path",
    hex: 255,
    oct: 15,
    bin: 5,
    big: 1000000,
    neg: -0.035,
    inf1: -Infinity,
    yes: true,
    when: "1979-05-27T07:32:00Z",
    arr: [1, [2, 3], "s"],
    multi: "line1\nline2joined",
    raw: "keep \\n",
    inline: { x: 1, y: { z: 2 } },
    t: { k: "v", sub: { k2: 2 } },
    items: [{ name: "one" }, { name: "two", meta: { ok: false } }],
  });
  for (
    const bad of [
      "a = 1\na = 2",
      "a = ",
      "[t]\n[t]",
      'a = "open',
      "a = 1 b = 2",
      "a = 1__0",
      "x = {a = 1}\n[x]",
    ]
  ) {
    assert.throws(() => parseToml(bad), TomlError, bad);
  }
});

Deno.test("formatValue() prints numbers as DVC's table does", () => {
  const cases: [number, string][] = [
    [0.821429, "0.82143"],
    [0.1, "0.1"],
    [1234567.5, "1.2346e+06"],
    [0.0000123456, "1.2346e-05"],
    [0.0001, "0.0001"],
    [100000.5, "1e+05"],
    [-2.5, "-2.5"],
    [99999.95, "1e+05"],
    [0.25, "0.25"],
  ];
  for (const [value, text] of cases) assert.equal(formatG(value, 5), text, String(value));
  assert.equal(formatValue(20170428, 5), "20170428");
  assert.equal(formatValue(0.941176, null), "0.941176");
  assert.equal(formatValue(1e-7, null), "1e-07");
  assert.equal(formatValue(false, 5), "False");
  assert.equal(formatValue(["a", 1.23456789, null], 3), "['a', 1.23, None]");
  assert.equal(formatValue("text", 5), "text");
});

Deno.test("expShowTable() names a key shared by two files with its file", () => {
  const rev = (params: Values, metrics: Values): ExpShowRev => ({
    rev: "workspace",
    timestamp: null,
    params: new Map(Object.entries(params).map(([f, d]) => [f, { data: d }])),
    metrics: new Map(Object.entries(metrics).map(([f, d]) => [f, { data: d }])),
    errors: [],
  });
  const result: ExpShowResult = {
    workspace: rev({ "params.yaml": { lr: 1, Created: 2 } }, { "a.json": { lr: 0.5, x: {} } }),
    baselines: [],
  };
  const options: ExpShowTableOptions = { precision: 5 };
  assert.deepEqual(expShowTable(result, options).columns.map((c) => c.header), [
    "a.json:lr",
    "params.yaml:lr",
    "params.yaml:Created",
  ]);
});
