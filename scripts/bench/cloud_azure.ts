/**
 * `dxp exp push` / `dxp exp pull` to Azure Blob Storage (Azurite on
 * loopback), side by side with rclone's azureblob backend in the same run:
 * 1000 × 4 KiB + one 200 MiB file, wall time and peak RSS.
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/cloud_azure.ts
 *   RUNS=1 JOBS=8 SMOKE=1 ./node_modules/.bin/deno run -A scripts/bench/cloud_azure.ts
 *
 * rclone copies exactly the objects dxp uploads (staged by a push to a local
 * remote first) with `--transfers JOBS --checkers JOBS`, against the same
 * Azurite through its emulator mode (`use_emulator`, endpoint set to our
 * port). Rounds are interleaved across tools. Azurite itself is one Node
 * process on the same 2 cores, so both tools share its limits.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from "../../tests/helpers/azurite.ts";
import {
  DXP,
  ensureBuilt,
  fmt,
  machineNote,
  median,
  printTable,
  runsFrom,
  scratchDir,
  sh,
} from "./bench_kit.ts";
import { countFiles, generateSample, setRemote, type Timed, timed } from "./data_kit.ts";

const runs = runsFrom("RUNS", 3);
const JOBS = runsFrom("JOBS", 8);
const smoke = process.env["SMOKE"] === "1";
const files = smoke ? 100 : 1000;
const bigFile = smoke ? 200 * 1024 * 1024 / 16 : 200 * 1024 * 1024;

ensureBuilt();
const scratch = scratchDir("dxp-bench-azure-");
const dxpEnv: Record<string, string | undefined> = { PATH: process.env["PATH"], NO_COLOR: "1" };
const settle = () => spawnSync("sync");
const row = (label: string, samples: Timed[], note = ""): string[] => [
  label,
  fmt(median(samples.map((s) => s.ms))),
  fmt(Math.max(...samples.map((s) => s.rssMb))),
  note,
];
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const azurite = await startAzurite();
try {
  const dir = scratch.dir;
  const s = generateSample(join(dir, "sample"), [
    "--files",
    String(files),
    "--file-size",
    "4096",
    "--big-file",
    String(bigFile),
    "--experiments",
    "1",
  ]);
  const dropRef = () => spawnSync("git", [`--git-dir=${s.originGit}`, "update-ref", "-d", s.ref]);
  const azureRemote = (repo: string, container: string) =>
    writeFileSync(
      join(repo, ".dvc", "config.local"),
      `['remote "store"']\n    url = azure://${container}/dvc\n` +
        `    connection_string = ${azurite.connectionString}\n`,
    );
  const push = ["exp", "push", "-j", String(JOBS), "origin", s.exp];
  const pull = ["exp", "pull", "-j", String(JOBS), "origin", s.exp];

  // Stage exactly the objects dxp uploads (a local remote), for rclone to copy.
  const stage = join(dir, "stage");
  setRemote(s.repo, stage);
  sh(DXP, push, { cwd: s.repo, env: dxpEnv });
  check(countFiles(stage) === s.objects, `staged ${s.objects} objects`);

  const rcloneEnv = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", RCLONE_CONFIG: "/dev/null" };
  const rcloneRemote = `:azureblob,use_emulator=true,account=${AZURITE_ACCOUNT},` +
    `key='${AZURITE_KEY}',endpoint='${azurite.endpoint}':`;
  const rcloneFlags = ["--transfers", String(JOBS), "--checkers", String(JOBS)];

  // Warm Azurite up (its first requests are slower) with one untimed push.
  const warm = await azurite.newContainer("warm");
  dropRef();
  azureRemote(s.repo, warm);
  sh(DXP, push, { cwd: s.repo, env: dxpEnv });

  const up = { dxp: [] as Timed[], rclone: [] as Timed[] };
  const down = { dxp: [] as Timed[], rclone: [] as Timed[] };
  const dxpContainers: string[] = [];
  for (let i = 0; i < runs; i++) {
    const forDxp = await azurite.newContainer("dxp");
    dxpContainers.push(forDxp);
    dropRef();
    azureRemote(s.repo, forDxp);
    settle();
    up.dxp.push(timed(DXP, push, { cwd: s.repo, env: dxpEnv }));
    check((await azurite.blobNames(forDxp)).length === s.objects, "dxp uploaded every object");

    const forRclone = await azurite.newContainer("rclone");
    settle();
    up.rclone.push(
      timed("rclone", [
        "copy",
        ...rcloneFlags,
        join(stage, "files"),
        `${rcloneRemote}${forRclone}/dvc/files`,
      ], { env: rcloneEnv }),
    );
    check((await azurite.blobNames(forRclone)).length === s.objects, "rclone uploaded all");

    const clone = join(dir, `clone-${i}`);
    sh("git", ["clone", "-q", s.originGit, clone]);
    azureRemote(clone, forDxp);
    settle();
    down.dxp.push(timed(DXP, pull, { cwd: clone, env: dxpEnv }));
    check(countFiles(join(clone, ".dvc", "cache")) === s.objects, "dxp pulled every object");
    settle();
    const target = join(dir, `rclone-${i}`);
    mkdirSync(target);
    down.rclone.push(
      timed("rclone", ["copy", ...rcloneFlags, `${rcloneRemote}${forDxp}/dvc/files`, target], {
        env: rcloneEnv,
      }),
    );
    check(countFiles(target) === s.objects, "rclone downloaded every object");
  }
  printTable(
    `${files} x 4 KiB + ${bigFile / 2 ** 20} MiB to Azurite (${s.objects} objects), ` +
      `median of ${runs} interleaved runs; ${machineNote()}`,
    ["command", "ms", "peak RSS MB", "note"],
    [
      row(`dxp exp push -j ${JOBS} (azure://)`, up.dxp, "Put Blob ≤ 16 MiB, else 8 MiB blocks"),
      row(
        "rclone copy <staged>/files :azureblob: (upload)",
        up.rclone,
        `--transfers ${JOBS} --checkers ${JOBS}`,
      ),
      row(`dxp exp pull -j ${JOBS} (azure://, fresh clone)`, down.dxp, "md5 verified"),
      row(
        "rclone copy :azureblob: <dir> (download)",
        down.rclone,
        `--transfers ${JOBS} --checkers ${JOBS}`,
      ),
    ],
  );
} finally {
  await azurite.stop();
  scratch.remove();
}
