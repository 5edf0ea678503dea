/**
 * `dxp exp export` + `dxp exp import` side by side with the plain tools in
 * one run:
 *
 * - round trip of one experiment of the 1000 × 4 KiB + 200 MiB workload
 *   (export in the repository, import into a fresh clone) against
 *   `git bundle create` + `tar -cf` of exactly the same commits and objects,
 *   then `git fetch <bundle>` + `tar -xf` into another fresh clone;
 * - incremental: the second export of a grown experiment set (`--since` the
 *   first file), its size and time next to a full export of the same set,
 *   on a sample whose experiments share their big file (what changed is 100
 *   small files) and on the workload above (what changed includes 200 MiB);
 * - memory: export and import of a BIG_GIB (default 2) GiB experiment, peak
 *   RSS against the 200 MB bound.
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/export.ts
 *   RUNS=1 BIG_GIB=4 TMPDIR=/dev/shm ./node_modules/.bin/deno run -A scripts/bench/export.ts
 *
 * PARTS picks among roundtrip, incremental, memory. Timings are printed, never asserted.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  DENO,
  DXP,
  ensureBuilt,
  fmt,
  machineNote,
  median,
  printTable,
  ROOT,
  runsFrom,
  scratchDir,
  sh,
} from "./bench_kit.ts";
import { type Timed, timed } from "./data_kit.ts";

const runs = runsFrom("RUNS", 3);
const bigGiB = runsFrom("BIG_GIB", 2);
const parts = (process.env["PARTS"] ?? "roundtrip,incremental,memory").split(",");
const MiB = 1024 * 1024;

ensureBuilt();
const scratch = scratchDir("dxp-bench-export-");
const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };

interface Sample {
  repo: string;
  originGit: string;
  cacheDir: string;
  baseline: string;
  /** Experiments on HEAD's baseline, by name → ref. */
  exps: { name: string; ref: string }[];
}

function sample(dir: string, args: string[]): Sample {
  const out = sh(DENO, ["run", "-A", "scripts/generate_sample.ts", dir, ...args], { cwd: ROOT });
  const info = JSON.parse(out.stdout) as {
    repo: string;
    originGit: string;
    cacheDir: string;
    baselines: { sha: string }[];
    experiments: { name: string; ref: string; baseline: string }[];
  };
  const head = info.baselines[info.baselines.length - 1]!.sha;
  return {
    repo: info.repo,
    originGit: info.originGit,
    cacheDir: info.cacheDir,
    baseline: head,
    exps: info.experiments.filter((e) => e.baseline === head),
  };
}

/** Writes back what earlier runs left dirty, so no run pays for another's writeback. */
const settle = () => spawnSync("sync");
const run = (cmd: string, args: string[], cwd?: string): Timed => {
  settle();
  return timed(cmd, args, { ...(cwd ? { cwd } : {}), env });
};
const dxp = (args: string[], cwd: string) => run(DXP, args, cwd);
const clone = (s: Sample, path: string) => sh("git", ["clone", "-q", s.originGit, path]).ms;
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const med = (samples: Timed[]) => median(samples.map((t) => t.ms));
const peak = (samples: Timed[]) => Math.max(...samples.map((t) => t.rssMb));

function roundTrip(): void {
  const dir = join(scratch.dir, "roundtrip");
  mkdirSync(dir, { recursive: true });
  const s = sample(join(dir, "sample"), [
    "--files",
    "1000",
    "--file-size",
    "4096",
    "--big-file",
    String(200 * MiB),
    "--experiments",
    "2",
  ]);
  const exp = s.exps[0]!;
  const t = {
    exp: [] as Timed[],
    imp: [] as Timed[],
    bundle: [] as Timed[],
    tarC: [] as Timed[],
    fetch: [] as Timed[],
    tarX: [] as Timed[],
    md5: [] as Timed[],
    sha: [] as Timed[],
  };
  let fileSize = 0;
  let refSize = 0;
  for (let i = 0; i < runs; i++) {
    // dxp: one file out, one file in.
    const file = join(dir, `exp-${i}.dxp`);
    t.exp.push(dxp(["exp", "export", exp.ref, "-o", file, "-q"], s.repo));
    fileSize = statSync(file).size;
    const c1 = join(dir, `clone-dxp-${i}`);
    clone(s, c1);
    t.imp.push(dxp(["exp", "import", file, "-q"], c1));
    // The same commits and objects with git and tar.
    const list = join(dir, `objects-${i}.txt`);
    const members = sh("tar", ["-tf", file]).stdout.split("\n")
      .filter((m) => m !== "" && !m.startsWith("dxp/"));
    writeFileSync(list, members.join("\n") + "\n");
    const bundle = join(dir, `ref-${i}.bundle`);
    const tarFile = join(dir, `ref-${i}.tar`);
    t.bundle.push(
      run("git", ["bundle", "create", "-q", bundle, exp.ref, `^${s.baseline}`], s.repo),
    );
    t.tarC.push(run("tar", ["-cf", tarFile, "-C", s.cacheDir, "-T", list]));
    refSize = statSync(bundle).size + statSync(tarFile).size;
    const c2 = join(dir, `clone-ref-${i}`);
    clone(s, c2);
    mkdirSync(join(c2, ".dvc", "cache"), { recursive: true });
    t.fetch.push(run("git", ["fetch", "-q", bundle, `${exp.ref}:${exp.ref}`], c2));
    t.tarX.push(run("tar", ["-xf", tarFile, "-C", join(c2, ".dvc", "cache")]));
    // What checking costs by itself: an export computes every member's sha256
    // (the manifest), an import verifies every object's md5 (its name).
    t.md5.push(
      run("sh", ["-c", `xargs openssl dgst -md5 < "$1" > /dev/null`, "x", list], s.cacheDir),
    );
    t.sha.push(
      run("sh", ["-c", `xargs openssl dgst -sha256 < "$1" > /dev/null`, "x", list], s.cacheDir),
    );
  }
  const dxpTotal = med(t.exp) + med(t.imp);
  const refTotal = med(t.bundle) + med(t.tarC) + med(t.fetch) + med(t.tarX);
  const row = (label: string, samples: Timed[], note = "") => [
    label,
    fmt(med(samples)),
    fmt(peak(samples)),
    note,
  ];
  printTable(
    `round trip of one experiment, 1000 x 4 KiB + 200 MiB (${runs} runs, median ms; ${machineNote()})`,
    ["command", "ms", "peak RSS MB", "note"],
    [
      row("dxp exp export EXP -o FILE", t.exp, `${mb(fileSize)} MB file`),
      row("dxp exp import FILE (fresh clone)", t.imp),
      ["dxp total", fmt(dxpTotal), "", ""],
      row("git bundle create (reference)", t.bundle),
      row("tar -cf <same objects> (reference)", t.tarC, `${mb(refSize)} MB bundle + tar`),
      row("git fetch <bundle> (fresh clone)", t.fetch),
      row("tar -xf into .dvc/cache", t.tarX),
      ["reference total", fmt(refTotal), "", ""],
      ["dxp / reference", (dxpTotal / refTotal).toFixed(2), "", "target <= 1.2"],
      row("openssl dgst -md5 <same objects> (checking floor)", t.md5, "import"),
      row("openssl dgst -sha256 <same objects> (checking floor)", t.sha, "export"),
      [
        "dxp / (reference + checking floor)",
        (dxpTotal / (refTotal + med(t.md5) + med(t.sha))).toFixed(2),
        "",
        "",
      ],
    ],
  );
}

/** Full export of two experiments vs the second export `--since` a file holding the first. */
function incremental(label: string, args: string[]): string[][] {
  const dir = join(scratch.dir, `incremental-${label}`);
  mkdirSync(dir, { recursive: true });
  const s = sample(join(dir, "sample"), args);
  const [a, b] = [s.exps[0]!, s.exps[1]!];
  const first = join(dir, "first.dxp");
  sh(DXP, ["exp", "export", a.ref, "-o", first, "-q"], { cwd: s.repo, env });
  const full: Timed[] = [];
  const since: Timed[] = [];
  let fullSize = 0;
  let sinceSize = 0;
  for (let i = 0; i < runs; i++) {
    const f = join(dir, `full-${i}.dxp`);
    full.push(dxp(["exp", "export", a.ref, b.ref, "-o", f, "-q"], s.repo));
    fullSize = statSync(f).size;
    const g = join(dir, `since-${i}.dxp`);
    since.push(dxp(["exp", "export", a.ref, b.ref, "--since", first, "-o", g, "-q"], s.repo));
    sinceSize = statSync(g).size;
  }
  // What really changed: the objects of the second experiment the first lacks.
  const objects = (file: string) =>
    new Map(
      sh("tar", ["-tvf", file]).stdout.split("\n").filter((l) => / files\/md5\//.test(l)).map(
        (l) => {
          const f = l.trim().split(/\s+/);
          return [f[5]!, Number(f[2])] as [string, number];
        },
      ),
    );
  const had = objects(first);
  let newBytes = 0;
  let newCount = 0;
  for (const [key, size] of objects(join(dir, "full-0.dxp"))) {
    if (!had.has(key)) {
      newBytes += size;
      newCount++;
    }
  }
  return [
    [`${label}: full export of both`, fmt(med(full)), mb(fullSize), ""],
    [
      `${label}: --since the first`,
      fmt(med(since)),
      mb(sinceSize),
      `${newCount} new objects, ${mb(newBytes)} MB`,
    ],
  ];
}

function memory(): void {
  const dir = join(scratch.dir, "memory");
  mkdirSync(dir, { recursive: true });
  const s = sample(join(dir, "sample"), [
    "--files",
    "10",
    "--big-file",
    String(bigGiB * 1024 * MiB),
    "--experiments",
    "1",
    "--same-big-file",
  ]);
  const file = join(dir, "big.dxp");
  const exp = dxp(["exp", "export", s.exps[0]!.ref, "-o", file, "-q"], s.repo);
  const c = join(dir, "clone");
  clone(s, c);
  const imp = dxp(["exp", "import", file, "-q"], c);
  printTable(
    `memory: one experiment with a ${bigGiB} GiB output`,
    ["command", "ms", "peak RSS MB", "MB/s"],
    [
      ["dxp exp export", fmt(exp.ms), fmt(exp.rssMb), mb(statSync(file).size / (exp.ms / 1000))],
      ["dxp exp import", fmt(imp.ms), fmt(imp.rssMb), mb(statSync(file).size / (imp.ms / 1000))],
      ["bound", "", "200", ""],
    ],
  );
}

try {
  if (parts.includes("roundtrip")) roundTrip();
  if (parts.includes("incremental")) {
    printTable(
      `incremental export (${runs} runs, median ms)`,
      ["export", "ms", "MB", "what changed"],
      [
        ...incremental("shared big file", [
          "--files",
          "1000",
          "--file-size",
          "4096",
          "--big-file",
          String(200 * MiB),
          "--experiments",
          "2",
          "--same-big-file",
        ]),
        ...incremental("own big file", [
          "--files",
          "1000",
          "--file-size",
          "4096",
          "--big-file",
          String(200 * MiB),
          "--experiments",
          "2",
        ]),
      ],
    );
  }
  if (parts.includes("memory")) memory();
} finally {
  scratch.remove();
}
