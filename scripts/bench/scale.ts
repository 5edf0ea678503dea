/**
 * Scale (issue 13): one directory output of many small files, dxp side by
 * side with `cp -r` / `cp -al` / `find -printf` / rclone in the same run,
 * wall time and peak RSS (GNU time's %M) of every command.
 *
 * - checkout: `dxp checkout` of 10,000 and 100,000 × 64 B files, cache.type
 *   copy and hardlink, against `cp -r` / `cp -al` of the same tree; a no-op
 *   checkout against `find -printf` of the tree (the stats it must do); and
 *   the runtime's floor: floor_place.ts compiled by Bun, a program that only
 *   places the same files (no checks, one thread).
 * - sync: 200,000 × 64 B, `dxp exp push` to an empty local remote and `dxp
 *   exp pull` / `dxp pull` in a fresh clone, against `cp -r` of the objects.
 * - memory: N = 100 k, 300 k, 1 M (SIZES): peak RSS of `checkout`, a no-op
 *   `checkout`, `exp push`, `status -c`, `exp pull` and `pull` (one run each).
 * - s3: 100,000 × 64 B to and from Ceph RGW against `rclone copy`.
 * - exps: `exp list -A` / `exp show -A` with 10,000 experiments against `git
 *   for-each-ref refs/exps` and start-up.
 * - dvc: DVC's own shape (1000 × 4 KiB + 100 MiB, local remote), from data.ts.
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/scale.ts
 *   PARTS=checkout,sync RUNS=3 ./node_modules/.bin/deno run -A scripts/bench/scale.ts
 *   PARTS=memory SIZES=100000,300000,1000000 ./node_modules/.bin/deno run -A scripts/bench/scale.ts
 *
 * Trees of up to SHM_MAX files (default 300,000) are made on tmpfs
 * (/dev/shm) when it exists: every 64-byte file costs a 4 KiB page and an
 * inode there, and /dev/shm has ~3 M inodes, so larger ones go to TMPDIR
 * (ext4 here). Each table says where it ran. Rounds are interleaved across
 * tools; each figure is the median of RUNS (default 3).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type Rgw, startRgw } from "../../tests/helpers/rgw.ts";
import {
  buildScaleRepo,
  cloneScaleRepo,
  type ScaleRepo,
  setLocalRemote,
} from "../../tests/helpers/scale_repo.ts";
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
import { buildExpRepo } from "./exp_repo.ts";
import { rcloneEnv, type Timed, timed } from "./data_kit.ts";

const runs = runsFrom("RUNS", 3);
const parts = (process.env["PARTS"] ?? "checkout,sync,memory,s3,exps,dvc").split(",");
const sizes = (process.env["SIZES"] ?? "100000,300000,1000000").split(",").map(Number);
const checkoutSizes = (process.env["CHECKOUT_SIZES"] ?? "10000,100000").split(",").map(Number);
const syncSize = runsFrom("SYNC_FILES", 200000);
const s3Size = runsFrom("S3_FILES", 100000);
const shmMax = runsFrom("SHM_MAX", 300000);
const JOBS = runsFrom("JOBS", 8);

ensureBuilt();
const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
for (const key of Object.keys(env)) if (key.startsWith("AWS_")) delete env[key];

/** A scratch folder on tmpfs for trees of up to SHM_MAX files, else in TMPDIR. */
function scratchFor(files: number, name: string): { dir: string; where: string } {
  const shm = files <= shmMax && existsSync("/dev/shm");
  const base = shm ? "/dev/shm" : process.env["TMPDIR"] ?? "/tmp";
  const dir = join(base, `dxp-scale-${process.pid}-${name}`);
  mkdirSync(dir, { recursive: true });
  cleanups.add(dir);
  return { dir, where: shm ? "tmpfs /dev/shm" : `${base} (${fsType(base)})` };
}
const cleanups = new Set<string>();
function rmRf(path: string): void {
  // Folders only: a file may be a hard link to a cache object, whose 0444 must stay (a
  // writable object is no longer trusted, and the next hardlink checkout re-hashes it).
  spawnSync("find", [path, "-type", "d", "!", "-perm", "-u+w", "-exec", "chmod", "u+w", "{}", "+"]);
  rmSync(path, { recursive: true, force: true });
  cleanups.delete(path);
}

/*
 * ext4 without a journal (this machine's `/`) passes over every inode freed in
 * the last minute when it allocates a new one (fs/ext4/ialloc.c,
 * recently_deleted): perf showed 100,000 creates right after deleting 100,000
 * files spending most of their time there (kernel time 11-28 s for one
 * `exp pull` that takes 3 s on a fresh file system), so whichever command ran
 * after a deletion was penalised. Between timed commands, trees are moved
 * aside instead and deleted with their scratch folder when the part ends; a
 * part on such a disk then waits that minute out before the next one starts.
 */
let discarded = 0;
function discard(path: string): void {
  if (!existsSync(path)) return;
  const scratch = [...cleanups].find((dir) => path.startsWith(dir + "/"));
  if (scratch === undefined || fsType(scratch) === "tmpfs") return rmRf(path);
  const trash = join(scratch, ".trash");
  mkdirSync(trash, { recursive: true });
  renameSync(path, join(trash, String(discarded++)));
}
/** Deletes a part's scratch folder, then lets a disk file system forget the freed inodes. */
function endPart(dir: string): void {
  const type = fsType(dir);
  rmRf(dir);
  if (type === "tmpfs") return;
  spawnSync("sync");
  spawnSync("sleep", ["61"]);
}
process.on("exit", () => {
  for (const dir of cleanups) rmRf(dir);
});
function fsType(path: string): string {
  return spawnSync("stat", ["-f", "-c", "%T", path], { encoding: "utf8" }).stdout.trim();
}

const settle = () => spawnSync("sync");
const dxp = (args: string[], cwd: string): Timed => {
  settle();
  return timed(DXP, args, { cwd, env });
};
const tool = (cmd: string, args: string[], cwd?: string, toolEnv?: Record<string, string>) => {
  settle();
  return timed(cmd, args, { ...(cwd ? { cwd } : {}), ...(toolEnv ? { env: toolEnv } : {}) });
};
/** `find -printf` of what a no-op checkout must stat: inode, size, mtime, path. */
const findPrintf = (dir: string) =>
  tool("sh", ["-c", `find "$1" -printf '%i %s %T@ %p\\n' >/dev/null`, "sh", dir]);

type Row = string[];
const HEADER = ["command", "ms", "peak RSS MB", "ratio", "note"];
const ms = (t: Timed[]) => median(t.map((x) => x.ms));
const rss = (t: Timed[]) => Math.max(...t.map((x) => x.rssMb));
const row = (label: string, t: Timed[], against?: Timed[], note = ""): Row => [
  label,
  fmt(ms(t)),
  fmt(rss(t)),
  against ? `${fmt(ms(t) / ms(against), 2)}x` : "",
  note,
];
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}
function countFiles(dir: string): number {
  const out = spawnSync("sh", ["-c", `find "$1" -type f | wc -l`, "sh", dir], {
    encoding: "utf8",
  });
  return Number(out.stdout.trim());
}
/** floor_place.ts compiled once per run, into a folder of its own (see its header). */
let floorProgram: string | undefined;
function floorPlace(): string {
  if (floorProgram !== undefined) return floorProgram;
  const out = join(scratchDir("dxp-bench-floor-").dir, "floor_place");
  sh(join(ROOT, "node_modules", ".bin", "bun"), [
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    join(ROOT, "scripts", "bench", "floor_place.ts"),
    "--outfile",
    out,
  ]);
  return (floorProgram = out);
}

const build = (dir: string, files: number): ScaleRepo => {
  const started = performance.now();
  const s = buildScaleRepo(join(dir, "sample"), files);
  console.log(`# built ${files} files in ${fmt((performance.now() - started) / 1000, 1)} s`);
  return s;
};

{
  if (parts.includes("checkout")) { for (const n of checkoutSizes) benchCheckout(n); }
  if (parts.includes("sync")) benchSync(syncSize);
  if (parts.includes("memory")) benchMemory();
  if (parts.includes("s3")) await benchS3(s3Size);
  if (parts.includes("exps")) benchExps(10000);
  if (parts.includes("dvc")) {
    console.log(`\n# DVC's shape (scripts/bench/data.ts PARTS=dvc)`);
    const r = spawnSync(DENO, ["run", "-A", "scripts/bench/data.ts"], {
      cwd: ROOT,
      env: { ...process.env, PARTS: "dvc", DXP_REBUILD: "0" },
      stdio: "inherit",
    });
    check(r.status === 0, "data.ts PARTS=dvc");
  }
}

function benchCheckout(n: number): void {
  const { dir, where } = scratchFor(n, `checkout-${n}`);
  const s = build(dir, n);
  const data = join(s.repo, "data");
  const copy = join(dir, "copy");
  const floor = floorPlace();
  const manifest = join(
    s.repo,
    ".dvc",
    "cache",
    "files",
    "md5",
    s.dirOid.slice(0, 2),
    s.dirOid.slice(2),
  );
  const cacheFiles = join(s.repo, ".dvc", "cache", "files", "md5");
  const t = {
    copy: [] as Timed[],
    cp: [] as Timed[],
    floorCopy: [] as Timed[],
    noop: [] as Timed[],
    find: [] as Timed[],
    link: [] as Timed[],
    cpal: [] as Timed[],
    floorLink: [] as Timed[],
    noopLink: [] as Timed[],
  };
  for (const type of ["copy", "hardlink"] as const) {
    setLocalRemote(s.repo, join(dir, "remote"), type);
    for (let i = 0; i < runs; i++) {
      discard(data);
      (type === "copy" ? t.copy : t.link).push(dxp(["checkout"], s.repo));
      if (i === 0) check(countFiles(data) === n, `checkout wrote ${n} files`);
      discard(copy);
      (type === "copy" ? t.cp : t.cpal).push(
        tool("cp", type === "copy" ? ["-r", data, copy] : ["-al", data, copy]),
      );
      discard(copy);
      (type === "copy" ? t.floorCopy : t.floorLink).push(
        tool(floor, [manifest, cacheFiles, copy, type === "copy" ? "copy" : "link"]),
      );
      if (i === 0) check(countFiles(copy) === n, `floor_place wrote ${n} files`);
      (type === "copy" ? t.noop : t.noopLink).push(dxp(["checkout"], s.repo));
      if (type === "copy") t.find.push(findPrintf(data));
    }
  }
  printTable(
    `checkout of ${n} x 64 B on ${where}, median of ${runs} runs; ${machineNote()}`,
    HEADER,
    [
      row("dxp checkout (cache.type copy)", t.copy, t.cp),
      row("cp -r data copy", t.cp),
      row("floor: Bun program, copies only", t.floorCopy, t.cp),
      row("dxp checkout (cache.type hardlink)", t.link, t.cpal),
      row("cp -al data copy", t.cpal),
      row("floor: Bun program, links only", t.floorLink, t.cpal),
      row("dxp checkout, nothing to do (copy)", t.noop, t.find),
      row("dxp checkout, nothing to do (hardlink)", t.noopLink, t.find),
      row("find data -printf '%i %s %T@ %p'", t.find),
    ],
  );
  endPart(dir);
}

function benchSync(n: number): void {
  const { dir, where } = scratchFor(n, `sync-${n}`);
  const s = build(dir, n);
  const t = {
    push: [] as Timed[],
    cpPush: [] as Timed[],
    status: [] as Timed[],
    pull: [] as Timed[],
    cpPull: [] as Timed[],
    wsPull: [] as Timed[],
    noopPush: [] as Timed[],
  };
  const objects = join(s.repo, ".dvc", "cache", "files");
  for (let i = 0; i < runs; i++) {
    const remote = join(dir, `remote-${i}`);
    spawnSync("git", [`--git-dir=${s.originGit}`, "update-ref", "-d", s.ref]);
    setLocalRemote(s.repo, remote);
    t.push.push(dxp(["exp", "push", "-j", String(JOBS), "origin", s.exp], s.repo));
    if (i === 0) check(countFiles(remote) === n + 1, `pushed ${n + 1} objects`);
    t.noopPush.push(dxp(["exp", "push", "-j", String(JOBS), "origin", s.exp], s.repo));
    t.status.push(dxp(["status", "-c"], s.repo));
    t.cpPush.push(tool("cp", ["-r", objects, join(dir, "cp-push")]));
    discard(join(dir, "cp-push"));
    const clone = cloneScaleRepo(s, join(dir, "clone"), remote);
    t.pull.push(dxp(["exp", "pull", "-j", String(JOBS), "origin", s.exp], clone));
    if (i === 0) check(countFiles(join(clone, ".dvc", "cache")) === n + 1, "pulled cache");
    discard(clone);
    t.cpPull.push(tool("cp", ["-r", join(remote, "files"), join(dir, "cp-pull")]));
    discard(join(dir, "cp-pull"));
    const wsClone = cloneScaleRepo(s, join(dir, "ws-clone"), remote);
    t.wsPull.push(dxp(["pull", "-j", String(JOBS)], wsClone));
    if (i === 0) check(countFiles(join(wsClone, "data")) === n, "pull checked out");
    discard(wsClone);
    discard(remote);
  }
  printTable(
    `push / pull of ${n} x 64 B to a local remote on ${where}, -j ${JOBS}, median of ${runs} runs; ${machineNote()}`,
    HEADER,
    [
      row("dxp exp push (empty remote)", t.push, t.cpPush),
      row("cp -r .dvc/cache/files <remote>", t.cpPush),
      row("dxp exp push (no-op)", t.noopPush),
      row("dxp status -c (in sync)", t.status),
      row("dxp exp pull (fresh clone)", t.pull, t.cpPull),
      row("cp -r <remote>/files <dir>", t.cpPull),
      row("dxp pull (fresh clone: fetch + checkout)", t.wsPull),
    ],
  );
  endPart(dir);
}

function benchMemory(): void {
  for (const n of sizes) {
    const { dir, where } = scratchFor(n, `memory-${n}`);
    const s = build(dir, n);
    const data = join(s.repo, "data");
    const remote = join(dir, "remote");
    setLocalRemote(s.repo, remote);
    const rows: Row[] = [];
    const k = `${n / 1000} k`;
    // A command that fails (older builds ran out of stack at 1 M) is a row, not the end.
    const attempt = (label: string, run: () => Timed, against?: Timed): Timed | undefined => {
      try {
        const t = run();
        rows.push(row(`${k}: ${label}`, [t], against ? [against] : undefined));
        return t;
      } catch (error) {
        const why = String((error as Error).message).split("\n").find((l) => l.startsWith("ERROR"));
        rows.push([`${k}: ${label}`, "failed", "", "", (why ?? "failed").slice(0, 60)]);
        return undefined;
      }
    };
    attempt("dxp checkout (copy, empty workspace)", () => dxp(["checkout"], s.repo));
    const find = existsSync(data) ? findPrintf(data) : undefined;
    attempt("dxp checkout (nothing to do)", () => dxp(["checkout"], s.repo), find);
    if (find) rows.push(row(`${k}: find data -printf`, [find]));
    discard(data);
    const pushed = attempt(
      "dxp exp push (empty local remote)",
      () => dxp(["exp", "push", "-j", String(JOBS), "origin", s.exp], s.repo),
    );
    if (pushed !== undefined) {
      attempt("dxp status -c (in sync)", () => dxp(["status", "-c"], s.repo), find);
      discard(s.repo);
      const clone = cloneScaleRepo(s, join(dir, "clone"), remote);
      attempt(
        "dxp exp pull (fresh clone)",
        () => dxp(["exp", "pull", "-j", String(JOBS), "origin", s.exp], clone),
      );
      discard(clone);
      const wsClone = cloneScaleRepo(s, join(dir, "ws-clone"), remote);
      attempt("dxp pull (fresh clone)", () => dxp(["pull", "-j", String(JOBS)], wsClone));
    }
    endPart(dir);
    printTable(
      `peak RSS with ${n} files of 64 B on ${where}, one run each, -j ${JOBS}; ${machineNote()}`,
      HEADER,
      rows,
    );
  }
}

async function benchS3(n: number): Promise<void> {
  const rgw = await startRgw();
  if (rgw === null) {
    console.log("# no RGW (radosgw not installed): S3 rows skipped");
    return;
  }
  try {
    await benchS3With(rgw, n);
  } finally {
    await rgw.stop();
  }
}

async function benchS3With(rgw: Rgw, n: number): Promise<void> {
  const bucket = "scale";
  await rgw.createBucket(bucket);
  const { dir, where } = scratchFor(n, `s3-${n}`);
  const s = build(dir, n);
  const objects = join(s.repo, ".dvc", "cache", "files");
  const rEnv = rcloneEnv(rgw);
  const flags = ["--transfers", String(JOBS), "--checkers", String(JOBS)];
  const s3Remote = (prefix: string) =>
    [
      "[core]",
      "    remote = store",
      `['remote "store"']`,
      `    url = s3://${bucket}/${prefix}`,
      `    endpointurl = ${rgw.endpoint}`,
      `    access_key_id = ${rgw.accessKey}`,
      `    secret_access_key = ${rgw.secretKey}`,
      "",
    ].join("\n");
  const configure = (repo: string, prefix: string) =>
    sh("sh", ["-c", `cat > "$1"`, "sh", join(repo, ".dvc", "config.local")], {
      input: s3Remote(prefix),
    });
  const t = { up: [] as Timed[], rup: [] as Timed[], down: [] as Timed[], rdown: [] as Timed[] };
  const upDxp = (i: number) => {
    spawnSync("git", [`--git-dir=${s.originGit}`, "update-ref", "-d", s.ref]);
    configure(s.repo, `dxp-${i}`);
    t.up.push(dxp(["exp", "push", "-j", String(JOBS), "origin", s.exp], s.repo));
  };
  const upRclone = (i: number) => {
    const to = `rgw:${bucket}/rclone-${i}/files`;
    t.rup.push(tool("rclone", ["copy", ...flags, objects, to], undefined, rEnv));
  };
  // Both read what the first push wrote (dxp-0).
  const downDxp = (i: number) => {
    const clone = cloneScaleRepo(s, join(dir, "clone"), "/nonexistent");
    configure(clone, "dxp-0");
    t.down.push(dxp(["exp", "pull", "-j", String(JOBS), "origin", s.exp], clone));
    if (i === 0) check(countFiles(join(clone, ".dvc", "cache")) === n + 1, "S3 pull");
    discard(clone);
  };
  const downRclone = () => {
    const from = `rgw:${bucket}/dxp-0/files`;
    t.rdown.push(tool("rclone", ["copy", ...flags, from, join(dir, "rc")], undefined, rEnv));
    discard(join(dir, "rc"));
  };
  // The order alternates: whichever goes second reads objects RGW has just served.
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      upDxp(i);
      upRclone(i);
      downDxp(i);
      downRclone();
    } else {
      upRclone(i);
      upDxp(i);
      downRclone();
      downDxp(i);
    }
  }
  printTable(
    `${n} x 64 B to and from Ceph RGW (S3), files on ${where}, -j ${JOBS} / --transfers ${JOBS}, median of ${runs} runs, order alternating; ${machineNote()}`,
    HEADER,
    [
      row("dxp exp push (S3)", t.up, t.rup),
      row("rclone copy <objects> rgw:… (upload)", t.rup),
      row("dxp exp pull (S3, fresh clone)", t.down, t.rdown),
      row("rclone copy rgw:… <dir> (download)", t.rdown),
    ],
  );
  endPart(dir);
}

function benchExps(n: number): void {
  const { dir, where } = scratchFor(0, `exps-${n}`);
  const started = performance.now();
  const p = buildExpRepo(dir, n);
  console.log(`# built ${n} experiments in ${fmt((performance.now() - started) / 1000, 1)} s`);
  const t = { refs: [] as Timed[], start: [] as Timed[], list: [] as Timed[], show: [] as Timed[] };
  for (let i = 0; i < Math.max(runs, 5); i++) {
    t.refs.push(tool("git", ["for-each-ref", "refs/exps"], p.repo));
    t.start.push(dxp(["--version"], p.repo));
    t.list.push(dxp(["exp", "list", "-A"], p.repo));
    t.show.push(dxp(["exp", "show", "-A"], p.repo));
  }
  const budget = [{ ms: 3 * ms(t.refs) + ms(t.start), rssMb: 0 }];
  printTable(
    `${n} experiments on one baseline (${where}), median of ${
      Math.max(runs, 5)
    } runs; ${machineNote()}`,
    HEADER,
    [
      row("dxp exp list -A", t.list, budget, "ratio: to 3 x for-each-ref + start-up"),
      row("dxp exp show -A", t.show),
      row("git for-each-ref refs/exps", t.refs),
      row("dxp --version (start-up)", t.start),
    ],
  );
  endPart(dir);
}
