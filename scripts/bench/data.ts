/**
 * The data half of `exp push` / `exp pull`, side by side with rclone and
 * awscli in the same run:
 *
 * - sets: (a) 1000 × 4 KiB + one 200 MiB file, (b) 10,000 × 4 KiB; `dxp exp
 *   push` to a local-directory remote and to Ceph RGW (S3), `dxp exp pull` of
 *   the same into a fresh clone, against `rclone copy` / `aws s3 cp
 *   --recursive` of exactly the objects dxp uploads (the local remote of the
 *   first push), plus a no-op push on S3 and how many S3 requests it makes.
 * - big: pushing one 1 GiB file to a local remote: MB/s against one core's
 *   `openssl speed md5`, and peak RSS.
 * - dvc: the shape of DVC's own figures (1000 × 4 KiB + 100 MiB, local remote).
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/data.ts
 *   PARTS=big,dvc RUNS=1 JOBS=8 ./node_modules/.bin/deno run -A scripts/bench/data.ts
 *   TMPDIR=/dev/shm NO_S3=1 ./node_modules/.bin/deno run -A scripts/bench/data.ts
 *
 * The last form is the control for the local rows: on this machine's ext4,
 * creating files costs 10x more kernel time for a while after many were
 * deleted (ext4's `recently_deleted` scan in inode allocation), and writing
 * 1 GiB varies by ~1 s of system time from run to run; tmpfs shows what dxp
 * itself costs. PARTS picks among sets, big, dvc; SMOKE=1 shrinks every sample.
 *
 * NO_S3=1 skips RGW (local rows only). Every transfer tool runs with JOBS (default 8 = dxp's default 4 × CPU on
 * 2 cores) parallel transfers. Rounds are interleaved across tools.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type Rgw, startRgw } from "../../tests/helpers/rgw.ts";
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
import {
  awsEnv,
  awsProgram,
  countFiles,
  generateSample,
  md5SpeedMBs,
  rcloneEnv,
  type S3Target,
  type Sample,
  setRemote,
  stderrTimeline,
  type Timed,
  timed,
} from "./data_kit.ts";

const runs = runsFrom("RUNS", 3);
const JOBS = runsFrom("JOBS", 8);
const parts = (process.env["PARTS"] ?? "sets,big,dvc").split(",");
const BUCKET = "bench";
/** SMOKE=1 shrinks every sample (file counts / 10, sizes / 16) to try the script quickly. */
const smoke = process.env["SMOKE"] === "1";
const count = (n: number) => String(smoke ? Math.ceil(n / 10) : n);
const size = (n: number) => String(smoke ? Math.ceil(n / 16) : n);

ensureBuilt();
const scratch = scratchDir("dxp-bench-data-");
const dxpEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
for (const key of Object.keys(dxpEnv)) if (key.startsWith("AWS_")) delete dxpEnv[key];

type Row = string[];
const HEADER = ["command", "ms", "peak RSS MB", "note"];
const row = (label: string, samples: Timed[], note = ""): Row => [
  label,
  fmt(median(samples.map((s) => s.ms))),
  fmt(Math.max(...samples.map((s) => s.rssMb))),
  note,
];
/** Writes back what earlier runs left dirty, so no run pays for another's writeback. */
const settle = () => spawnSync("sync");
const dxpRun = (args: string[], cwd: string) => {
  settle();
  return timed(DXP, args, { cwd, env: dxpEnv });
};
const toolRun = (cmd: string, args: string[], env?: Record<string, string>) => {
  settle();
  return timed(cmd, args, env === undefined ? {} : { env });
};
const dropRef = (s: Sample) =>
  spawnSync("git", [`--git-dir=${s.originGit}`, "update-ref", "-d", s.ref]);
/**
 * Every run writes into new folders; deleting happens only between parts. On
 * ext4 (this machine's /tmp), creating files soon after thousands were deleted
 * costs up to ~10x more kernel time (ext4's `recently_deleted` inode check),
 * which would charge one tool for another's clean-up.
 */
const freshClone = (s: Sample, clone: string, url: string, s3?: S3Target) => {
  sh("git", ["clone", "-q", s.originGit, clone]);
  setRemote(clone, url, s3);
};
function rmRf(path: string): void {
  spawnSync("chmod", ["-R", "u+w", path]);
  rmSync(path, { recursive: true, force: true });
}
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

let rgw: Rgw | null = null;
try {
  if (parts.includes("sets")) {
    rgw = process.env["NO_S3"] === "1" ? null : await startRgw();
    if (rgw === null) console.log("# no RGW (NO_S3=1 or radosgw not installed): S3 rows skipped");
    else await rgw.createBucket(BUCKET);
    const sets = [
      {
        name: "a",
        label: "(a) 1000 x 4 KiB + 200 MiB",
        args: ["--files", count(1000), "--file-size", "4096", "--big-file", size(209715200)],
      },
      {
        name: "b",
        label: "(b) 10,000 x 4 KiB",
        args: ["--files", count(10000), "--file-size", "4096", "--big-file", "4096"],
      },
    ];
    for (const set of sets) {
      await benchSet(set.name, set.label, [...set.args, "--experiments", "1"]);
    }
    // An idle RGW still takes CPU: stop it before the local-only parts.
    await rgw?.stop();
  }
  if (parts.includes("big")) benchBig();
  if (parts.includes("dvc")) benchDvcShape();
} finally {
  await rgw?.stop();
  scratch.remove();
}

async function benchSet(name: string, label: string, args: string[]): Promise<void> {
  const dir = join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  const s = generateSample(join(dir, "sample"), args);
  const push = ["exp", "push", "-j", String(JOBS), "origin", s.exp];
  const pull = ["exp", "pull", "-j", String(JOBS), "origin", s.exp];
  const rows: Row[] = [];

  // Local-directory remote. The first push's remote is the staged copy of exactly
  // the objects dxp uploads: the other tools copy it.
  const stage = join(dir, "local-0");
  const localPush: Timed[] = [];
  for (let i = 0; i < runs; i++) {
    dropRef(s);
    setRemote(s.repo, join(dir, `local-${i}`));
    localPush.push(dxpRun(push, s.repo));
  }
  check(countFiles(stage) === s.objects, `local remote holds ${s.objects} objects`);
  const localPull: Timed[] = [];
  const cpCopy: Timed[] = [];
  for (let i = 0; i < runs; i++) {
    const clone = join(dir, `clone-local-${i}`);
    freshClone(s, clone, stage);
    localPull.push(dxpRun(pull, clone));
    if (i === 0) check(countFiles(join(clone, ".dvc", "cache")) === s.objects, "pulled cache");
    cpCopy.push(toolRun("cp", ["-r", stage, join(dir, `cp-${i}`)]));
  }
  rows.push(row(`dxp exp push -j ${JOBS} (local remote)`, localPush, `${s.objects} objects`));
  rows.push(row(`dxp exp pull -j ${JOBS} (local remote, fresh clone)`, localPull));
  rows.push(row("cp -r <staged remote> (reference)", cpCopy));

  if (rgw !== null) {
    const s3: S3Target = rgw;
    const aws = awsProgram();
    const awsE = awsEnv(dir, s3, JOBS);
    const rcloneE = rcloneEnv(s3);
    const ep = ["--endpoint-url", s3.endpoint];
    const rcloneFlags = ["--transfers", String(JOBS), "--checkers", String(JOBS)];
    const prefix = (tool: string, i: number) => `${name}/${tool}-${i}`;
    // Warm RGW up (first requests after start-up are slower) with one untimed upload.
    dropRef(s);
    setRemote(s.repo, `s3://${BUCKET}/${name}/warm-up`, s3);
    dxpRun(push, s.repo);
    const up = { dxp: [] as Timed[], rclone: [] as Timed[], aws: [] as Timed[] };
    for (let i = 0; i < runs; i++) {
      dropRef(s);
      setRemote(s.repo, `s3://${BUCKET}/${prefix("dxp", i)}`, s3);
      up.dxp.push(dxpRun(push, s.repo));
      up.rclone.push(
        toolRun("rclone", [
          "copy",
          ...rcloneFlags,
          join(stage, "files"),
          `rgw:${BUCKET}/${prefix("rclone", i)}/files`,
        ], rcloneE),
      );
      up.aws.push(
        toolRun(aws, [
          "s3",
          "cp",
          "--recursive",
          "--quiet",
          ...ep,
          join(stage, "files"),
          `s3://${BUCKET}/${prefix("aws", i)}/files`,
        ], awsE),
      );
    }
    for (const tool of ["dxp", "rclone", "aws"]) {
      const listed =
        sh(aws, ["s3", "ls", "--recursive", ...ep, `s3://${BUCKET}/${prefix(tool, 0)}/`], {
          env: awsE,
        })
          .stdout.split("\n").filter((l) => l.trim() !== "").length;
      check(listed === s.objects, `${tool} uploaded ${s.objects} objects (saw ${listed})`);
    }
    const dxpUrl = `s3://${BUCKET}/${prefix("dxp", 0)}`;
    const down = { dxp: [] as Timed[], rclone: [] as Timed[], aws: [] as Timed[] };
    for (let i = 0; i < runs; i++) {
      const clone = join(dir, `clone-s3-${i}`);
      freshClone(s, clone, dxpUrl, s3);
      down.dxp.push(dxpRun(pull, clone));
      if (i === 0) check(countFiles(join(clone, ".dvc", "cache")) === s.objects, "S3 pull");
      down.rclone.push(
        toolRun(
          "rclone",
          [
            "copy",
            ...rcloneFlags,
            `rgw:${BUCKET}/${prefix("dxp", 0)}/files`,
            join(dir, `rclone-${i}`),
          ],
          rcloneE,
        ),
      );
      down.aws.push(
        toolRun(aws, [
          "s3",
          "cp",
          "--recursive",
          "--quiet",
          ...ep,
          `s3://${BUCKET}/${prefix("dxp", 0)}/files`,
          join(dir, `aws-${i}`),
        ], awsE),
      );
    }
    rows.push(row(`dxp exp push -j ${JOBS} (S3)`, up.dxp, `-j ${JOBS}`));
    rows.push(
      row(
        "rclone copy <staged>/files rgw:... (upload)",
        up.rclone,
        `--transfers ${JOBS} --checkers ${JOBS}`,
      ),
    );
    rows.push(
      row(
        "aws s3 cp --recursive <staged>/files s3://... (upload)",
        up.aws,
        `max_concurrent_requests ${JOBS}`,
      ),
    );
    rows.push(row(`dxp exp pull -j ${JOBS} (S3, fresh clone)`, down.dxp, `-j ${JOBS}`));
    rows.push(
      row(
        "rclone copy rgw:... <dir> (download)",
        down.rclone,
        `--transfers ${JOBS} --checkers ${JOBS}`,
      ),
    );
    rows.push(
      row(
        "aws s3 cp --recursive s3://... <dir> (download)",
        down.aws,
        `max_concurrent_requests ${JOBS}`,
      ),
    );

    // No-op: everything is on S3 and the ref on origin.
    setRemote(s.repo, dxpUrl, s3);
    dxpRun(push, s.repo);
    const noop: Timed[] = [];
    const noopGit: Timed[] = [];
    for (let i = 0; i < Math.max(runs, 5); i++) {
      noop.push(dxpRun(push, s.repo));
      noopGit.push(dxpRun(["exp", "push", "--no-cache", "origin", s.exp], s.repo));
    }
    const trace = await stderrTimeline(DXP, [
      "exp",
      "push",
      "-vv",
      "-j",
      String(JOBS),
      "origin",
      s.exp,
    ], {
      cwd: s.repo,
      env: dxpEnv,
    });
    const s3Lines = trace.lines.map((l) => ({
      ...l,
      m: /S3 ([A-Z]+) .* -> (\d+) \((\d+) ms\)/.exec(l.line),
    }))
      .filter((l) => l.m !== null);
    const methods = new Map<string, number>();
    for (const l of s3Lines) methods.set(l.m![1]!, (methods.get(l.m![1]!) ?? 0) + 1);
    const windowMs = s3Lines.length === 0
      ? 0
      : s3Lines[s3Lines.length - 1]!.at - (s3Lines[0]!.at - Number(s3Lines[0]!.m![3]));
    rows.push(row(`dxp exp push (no-op, S3): whole command`, noop));
    rows.push(row(`dxp exp push --no-cache (no-op): git half + start-up`, noopGit));
    rows.push([
      "  S3 requests of one no-op push (-vv), first sent..last answered",
      fmt(windowMs),
      "",
      [...methods].map(([m, n]) => `${n} ${m}`).join(", ") || "none",
    ]);
  }
  printTable(
    `${label}: experiment ${s.exp}, median of ${runs} interleaved runs; ${machineNote()}`,
    HEADER,
    rows,
  );
  rmRf(dir);
}

function benchBig(): void {
  const dir = join(scratch.dir, "big");
  mkdirSync(dir, { recursive: true });
  const bytes = Number(size(1024 * 1024 * 1024));
  const md5 = md5SpeedMBs();
  const s = generateSample(join(dir, "sample"), [
    "--files",
    "0",
    "--big-file",
    String(bytes),
    "--same-big-file",
    "--experiments",
    "1",
  ]);
  const pushes: Timed[] = [];
  const cps: Timed[] = [];
  const sums: Timed[] = [];
  // Few inodes here, so deleting between runs is harmless; keeping 2 GiB per run
  // instead would have the kernel write back earlier runs during later ones.
  const remote = join(dir, "remote");
  const copy = join(dir, "copy");
  for (let i = 0; i < runs; i++) {
    rmRf(remote);
    rmRf(copy);
    dropRef(s);
    setRemote(s.repo, remote);
    pushes.push(dxpRun(["exp", "push", "origin", s.exp], s.repo));
    rmRf(remote);
    cps.push(toolRun("cp", [join(s.repo, "model.bin"), copy]));
    sums.push(toolRun("md5sum", [join(s.repo, "model.bin")]));
  }
  rmRf(dir);
  const rate = (t: Timed[]) => bytes / (median(t.map((x) => x.ms)) / 1000) / 1e6;
  const pct = (t: Timed[]) => `${fmt(rate(t))} MB/s = ${fmt((100 * rate(t)) / md5)} % of md5`;
  printTable(
    `one 1 GiB file to a local remote, median of ${runs} runs; openssl speed md5 (16 KiB, 1 core) = ${
      fmt(md5)
    } MB/s; ${machineNote()}`,
    HEADER,
    [
      row("dxp exp push origin <exp> (1 GiB + metadata)", pushes, pct(pushes)),
      row("cp model.bin (reference)", cps, `${fmt(rate(cps))} MB/s`),
      row("md5sum model.bin (reference)", sums, pct(sums)),
    ],
  );
}

function benchDvcShape(): void {
  const dir = join(scratch.dir, "dvc");
  mkdirSync(dir, { recursive: true });
  const n = Math.max(runs, 5);
  const s = generateSample(join(dir, "sample"), [
    "--files",
    count(1000),
    "--file-size",
    "4096",
    "--big-file",
    size(100 * 1024 * 1024),
    "--experiments",
    "1",
  ]);
  const t = {
    expPush: [] as Timed[],
    expPull: [] as Timed[],
    expNoop: [] as Timed[],
    push: [] as Timed[],
    pull: [] as Timed[],
    noop: [] as Timed[],
  };
  for (let i = 0; i < n; i++) {
    const remote = join(dir, `remote-${i}`);
    const wsRemote = join(dir, `ws-remote-${i}`);
    dropRef(s);
    setRemote(s.repo, remote);
    t.expPush.push(dxpRun(["exp", "push", "origin", s.exp], s.repo));
    t.expNoop.push(dxpRun(["exp", "push", "origin", s.exp], s.repo));
    const expClone = join(dir, `clone-exp-${i}`);
    freshClone(s, expClone, remote);
    t.expPull.push(dxpRun(["exp", "pull", "origin", s.exp], expClone));
    setRemote(s.repo, wsRemote);
    t.push.push(dxpRun(["push"], s.repo));
    t.noop.push(dxpRun(["push"], s.repo));
    const wsClone = join(dir, `clone-ws-${i}`);
    freshClone(s, wsClone, wsRemote);
    t.pull.push(dxpRun(["pull"], wsClone));
  }
  rmRf(dir);
  printTable(
    `DVC's shape: 1000 x 4 KiB + 100 MiB, local remote, default jobs, median of ${n} runs ` +
      `(DVC 3.64 on such a machine: push ~1500, pull ~1400, no-op push ~900 ms); ${machineNote()}`,
    HEADER,
    [
      row("dxp exp push origin <exp> (empty remote)", t.expPush, `${s.objects} objects`),
      row("dxp exp pull origin <exp> (fresh clone)", t.expPull),
      row("dxp exp push origin <exp> (no-op)", t.expNoop),
      row("dxp push (workspace, empty remote)", t.push),
      row("dxp pull (fresh clone: fetch + checkout)", t.pull),
      row("dxp push (no-op)", t.noop),
    ],
  );
}
