/**
 * Runs dxp's fuzz targets (tests/fuzz_*_test.ts) longer than CI does, with a
 * fresh seed, and prints one line per parser: runs, inputs it accepted, its
 * slowest case and whether it failed. A failure prints fast-check's
 * counterexample with the seed and path that replay it:
 *
 *   deno run -A scripts/fuzz.ts --runs 20000
 *   deno run -A scripts/fuzz.ts --runs 5000 --seed 42 --only git_pack
 *   DXP_FUZZ_SEED=42 DXP_FUZZ_RUNS=5000 deno test -A --no-check tests/fuzz_git_pack_test.ts
 *
 * Exit status: 0 when every target held, 1 otherwise.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const ROOT = new URL("..", import.meta.url).pathname;

interface Options {
  runs: number;
  seed: number;
  only: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    runs: 2000,
    seed: Math.floor(Math.random() * 2 ** 31),
    only: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--runs") options.runs = Number(value());
    else if (arg === "--seed") options.seed = Number(value());
    else if (arg === "--only") options.only = value();
    else if (arg === "-h" || arg === "--help") {
      console.log("usage: deno run -A scripts/fuzz.ts [--runs N] [--seed S] [--only <file part>]");
      process.exit(0);
    } else throw new Error(`unknown argument '${arg}'`);
  }
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error("--runs must be >= 1");
  return options;
}

interface ReportLine {
  target: string;
  runs: number;
  accepted: number;
  seed: number;
  failed: boolean;
  slowestMs: number;
  error?: string;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const files = readdirSync(join(ROOT, "tests"))
    .filter((f) => /^fuzz_.*_test\.ts$/.test(f))
    .filter((f) => options.only === undefined || f.includes(options.only))
    .map((f) => join("tests", f));
  if (files.length === 0) throw new Error("no fuzz test file matches");
  const dir = mkdtempSync(join(tmpdir(), "dxp-fuzz-"));
  const report = join(dir, "report.jsonl");
  console.log(
    `fuzzing ${files.length} files, ${options.runs} runs per target, seed ${options.seed}`,
  );
  const started = performance.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(join(ROOT, "node_modules/.bin/deno"), [
      "test",
      "-A",
      "--no-check",
      ...files,
    ], {
      cwd: ROOT,
      env: {
        ...process.env,
        NO_COLOR: "1",
        DXP_FUZZ_RUNS: String(options.runs),
        DXP_FUZZ_SEED: String(options.seed),
        DXP_FUZZ_REPORT: report,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => out += d);
    child.on("close", (status) => {
      // Only the failures' details: the per-target table below says the rest.
      const errors = out.indexOf(" ERRORS ");
      if (errors >= 0) console.log(out.slice(errors));
      resolve(status ?? 1);
    });
  });
  let lines: ReportLine[] = [];
  try {
    lines = readFileSync(report, "utf8").trim().split("\n").filter((l) => l !== "")
      .map((l) => JSON.parse(l) as ReportLine);
  } catch {
    // no target reported (the test run failed before any)
  }
  rmSync(dir, { recursive: true, force: true });
  const width = Math.max(6, ...lines.map((l) => l.target.length));
  console.log(
    `\n${"parser".padEnd(width)}  ${"runs".padStart(8)}  ${"accepted".padStart(8)}  ${
      "slowest".padStart(9)
    }  failures`,
  );
  for (const l of lines) {
    console.log(
      `${l.target.padEnd(width)}  ${String(l.runs).padStart(8)}  ${
        String(l.accepted).padStart(8)
      }  ` +
        `${`${l.slowestMs} ms`.padStart(9)}  ${l.failed ? "1" : "0"}`,
    );
  }
  const total = lines.reduce((n, l) => n + l.runs, 0);
  const failed = lines.filter((l) => l.failed).length;
  console.log(
    `\n${lines.length} targets, ${total} cases, ${failed} failed, seed ${options.seed}, ` +
      `${Math.round((performance.now() - started) / 1000)} s`,
  );
  return code === 0 && failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(`fuzz: ${(error as Error).message}`);
  process.exit(2);
});
