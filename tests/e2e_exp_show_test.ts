import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { type FixtureCopy, fixtureCopy } from "./helpers/fixture_repo.ts";
import { run } from "./helpers/tmp.ts";

type Values = Record<string, unknown>;

/** `params.yaml` and `metrics.json` of a commit as git prints them (never hard-coded). */
function committed(repo: string, sha: string): { params: Values; metrics?: Values } {
  const show = (path: string) => run("git", ["show", `${sha}:${path}`], { cwd: repo });
  const params = parseYaml(show("params.yaml").stdout) as Values;
  const metrics = show("metrics.json");
  return metrics.code === 0
    ? { params, metrics: JSON.parse(metrics.stdout) as Values }
    : { params };
}

/** Full SHA of a short one (or any revision). */
function sha(fx: FixtureCopy, repo: string, rev: string): string {
  return fx.git(["rev-parse", rev], repo).trim();
}

/** The rows of `--csv` output, keyed by header. */
function csvRows(text: string): Record<string, string>[] {
  assert.ok(text.endsWith("\r\n"), "CSV lines end in CRLF");
  const [header, ...lines] = text.slice(0, -2).split("\r\n").map((l) => l.split(","));
  return lines.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i] ?? ""])));
}

/** The body rows of the plain table or Markdown, keyed by header. */
function tableRows(text: string, md: boolean): Record<string, string>[] {
  const lines = text.split("\n").filter((l) =>
    l !== "" && !l.startsWith(" ─") && !l.startsWith("|-")
  );
  const split = (l: string) =>
    md ? l.slice(1, -1).split(" | ").map((c) => c.trim()) : l.trim().split(/ {2,}/);
  const [header, ...rows] = lines.map(split);
  return rows.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i] ?? ""])));
}

/** Checks one shown row against the commit it names: exact for CSV, 5 significant digits otherwise. */
function checkRow(
  row: Record<string, string>,
  expected: { params: Values; metrics?: Values },
  exact: boolean,
) {
  for (const [key, value] of Object.entries({ ...expected.metrics, ...expected.params })) {
    const text = row[key];
    assert.ok(text !== undefined, `column ${key} missing`);
    if (!exact && typeof value === "number" && !Number.isInteger(value)) {
      assert.ok(
        Math.abs(Number(text) - value) <= Math.abs(value) * 1e-4,
        `${key}: ${text} vs ${value}`,
      );
    } else assert.equal(text, String(value), key);
  }
}

/** The commit a row names: workspace, a baseline (`main` or short SHA), or `├── sha7 [name]`. */
function rowSha(fx: FixtureCopy, repo: string, id: string): string {
  if (id === "workspace") return "workspace";
  const exp = /([0-9a-f]{7}) \[/.exec(id);
  return sha(fx, repo, exp ? exp[1]! : id);
}

Deno.test("dxp exp show -A prints each commit's params and metrics in every format (basic fixture)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const repo = fx.repo;
    const head = committed(repo, "HEAD");
    for (const format of ["plain", "md", "csv"] as const) {
      const args = ["exp", "show", "-A", ...(format === "plain" ? [] : [`--${format}`])];
      const result = fx.dxp(args);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      const rows = format === "csv"
        ? csvRows(result.stdout)
        : tableRows(result.stdout, format === "md");
      // workspace + 2 baselines + 4 experiments, each shown once.
      assert.equal(rows.length, 7, format);
      const seen = new Set<string>();
      for (const row of rows) {
        const commit = rowSha(fx, repo, format === "csv" ? row["rev"]! : row["Experiment"]!);
        seen.add(commit);
        checkRow(row, commit === "workspace" ? head : committed(repo, commit), format === "csv");
      }
      const expected = fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/"])
        .trim().split("\n").filter((l) => l.split("/").length === 5).map((l) => l.split(" ")[0]!);
      for (const e of expected) assert.ok(seen.has(e), `${format}: experiment ${e} shown`);
      if (format === "plain") {
        assert.ok(!result.stdout.includes("\x1b"), "no ANSI codes when piped");
        assert.ok(!result.stdout.includes("…"), "nothing truncated when piped");
      }
    }
    const json = JSON.parse(fx.dxp(["exp", "show", "-A", "--json"]).stdout) as {
      rev: string;
      data: { params: Values; metrics: Values };
      experiments: { revs: { rev: string; data: { params: Values; metrics: Values } }[] }[] | null;
    }[];
    const states = json.flatMap((s) => [s, ...(s.experiments ?? []).flatMap((e) => e.revs)]);
    assert.equal(states.length, 7);
    for (const state of states) {
      const expected = state.rev === "workspace" ? head : committed(repo, state.rev);
      assert.deepEqual(state.data.params, { "params.yaml": { data: expected.params } });
      assert.deepEqual(state.data.metrics, { "metrics.json": { data: expected.metrics } });
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp show selects with --rev/-n, sorts, keeps only changed columns and drops columns", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const b1 = sha(fx, fx.repo, "HEAD~1");
    const byRev = csvRows(fx.dxp(["exp", "show", "--csv", "--rev", b1.slice(0, 7)]).stdout);
    assert.deepEqual(byRev.map((r) => r["typ"]), [
      "baseline",
      "baseline",
      "branch_commit",
      "branch_base",
    ]);
    assert.equal(byRev[1]!["rev"], b1.slice(0, 7));
    for (const row of byRev.slice(2)) {
      assert.equal(fx.git(["rev-parse", `${row["rev"]}^`]).trim(), b1);
    }
    assert.equal(csvRows(fx.dxp(["exp", "show", "--csv", "-n", "2"]).stdout).length, 7);

    const sorted = csvRows(
      fx.dxp(["exp", "show", "--csv", "-A", "--sort-by", "acc", "--sort-order", "desc"]).stdout,
    );
    let last = Infinity;
    for (const row of sorted) {
      if (row["typ"] === "baseline") last = Infinity;
      else {
        assert.ok(Number(row["acc"]) <= last, "acc descending within a baseline");
        last = Number(row["acc"]);
      }
    }
    const changed = fx.dxp(["exp", "show", "-A", "--csv", "--only-changed"]).stdout.split(
      "\r\n",
    )[0]!;
    const all = csvRows(fx.dxp(["exp", "show", "-A", "--csv"]).stdout);
    for (const column of ["acc", "loss", "rows", "lr", "epochs"]) {
      const differs = new Set(all.map((r) => r[column])).size > 1;
      assert.equal(changed.split(",").includes(column), differs, column);
    }
    const dropped =
      fx.dxp(["exp", "show", "--md", "--drop", "Created|lo", "--keep", "loss"]).stdout;
    assert.equal(
      dropped.split("\n")[0]!.replace(/ +/g, " "),
      "| Experiment | acc | loss | rows | lr | epochs |",
    );

    const unknown = fx.dxp(["exp", "show", "--sort-by", "nope"]);
    assert.equal(unknown.code, 255);
    assert.equal(unknown.stderr, "ERROR: Unknown sort column 'nope'\n");
    const badRev = fx.dxp(["exp", "show", "--rev", "no-such"]);
    assert.equal(badRev.code, 255);
    assert.match(badRev.stderr, /unknown Git revision 'no-such'/);
    const conflict = fx.dxp(["exp", "show", "--json", "--csv"]);
    assert.notEqual(conflict.code, 0);
    const quiet = fx.dxp(["exp", "show", "-q"]);
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stdout, "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp show in a fresh clone shows a pulled experiment; legacy params are read from each commit", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const before = csvRows(fx.dxp(["exp", "show", "-A", "--csv"], clone).stdout);
    assert.ok(before.every((r) => r["typ"] === "baseline"), "no experiments before pulling");
    assert.equal(fx.dxp(["exp", "pull", "origin", "exp-b"], clone).code, 0);
    const after = csvRows(fx.dxp(["exp", "show", "-A", "--csv"], clone).stdout);
    const expB = after.find((r) => r["Experiment"] === "exp-b");
    assert.ok(expB !== undefined);
    checkRow(expB, committed(clone, expB["rev"]!), true);
  } finally {
    await fx.cleanup();
  }
  const legacy = await fixtureCopy("legacy");
  try {
    const rows = csvRows(legacy.dxp(["exp", "show", "-A", "--csv"]).stdout);
    assert.equal(rows.length, 4);
    for (const row of rows.slice(1)) {
      checkRow(row, committed(legacy.repo, sha(legacy, legacy.repo, row["rev"]!)), true);
    }
  } finally {
    await legacy.cleanup();
  }
});

Deno.test("dxp exp show --param-deps keeps only params that are stage dependencies; --precision sets the significant digits", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // A param no stage depends on.
    Deno.writeTextFileSync(`${fx.repo}/params.yaml`, "lr: 0.1\nepochs: 3\nseed: 7\n");
    // DVC's CSV ends rows with CRLF, as Python's csv module does.
    const header = (args: string[]) => fx.dxp(args).stdout.split("\r\n")[0]!.split(",");
    assert.ok(header(["exp", "show", "--csv"]).includes("seed"));
    const deps = header(["exp", "show", "--csv", "--param-deps"]);
    assert.ok(!deps.includes("seed"), deps.join(","));
    assert.ok(deps.includes("lr") && deps.includes("epochs"));

    const accOf = (args: string[]) => {
      const line = fx.dxp(args).stdout.split("\n").find((l) => l.includes("[typed-gulf]"))!;
      return line.split("|").map((c) => c.trim())[3];
    };
    assert.equal(accOf(["exp", "show", "--md"]), "0.94118"); // DVC's default: 5
    assert.equal(accOf(["exp", "show", "--md", "--precision", "2"]), "0.94");
    assert.equal(accOf(["exp", "show", "--md", "--precision", "3"]), "0.941");
  } finally {
    await fx.cleanup();
  }
});
