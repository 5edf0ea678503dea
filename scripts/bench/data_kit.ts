/**
 * Pieces of the data benchmarks: generated samples, DVC remote configs,
 * peak-RSS timing, the comparison tools' environments (rclone, awscli) and a
 * line timeline of a command's stderr.
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { DENO, ROOT, sh, withExactEnv } from "./bench_kit.ts";

export interface Sample {
  root: string;
  repo: string;
  originGit: string;
  /** The experiment on HEAD's baseline. */
  exp: string;
  ref: string;
  /** Objects its push uploads to an empty remote. */
  objects: number;
}

/** Runs scripts/generate_sample.ts into `dir` and picks the experiment on HEAD's baseline. */
export function generateSample(dir: string, args: string[]): Sample {
  const out = sh(DENO, ["run", "-A", "scripts/generate_sample.ts", dir, ...args], { cwd: ROOT });
  const info = JSON.parse(out.stdout) as {
    root: string;
    repo: string;
    originGit: string;
    baselines: { sha: string }[];
    experiments: { name: string; ref: string; baseline: string; objectCount: number }[];
  };
  const head = info.baselines[info.baselines.length - 1]!.sha;
  const exp = info.experiments.find((e) => e.baseline === head);
  if (exp === undefined) throw new Error(`no experiment on ${head} in ${dir}`);
  return {
    root: info.root,
    repo: info.repo,
    originGit: info.originGit,
    exp: exp.name,
    ref: exp.ref,
    objects: exp.objectCount,
  };
}

export interface S3Target {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

/** Points the project's default remote `store` at `url` through `.dvc/config.local`. */
export function setRemote(repo: string, url: string, s3?: S3Target): void {
  const lines = [`['remote "store"']`, `    url = ${url}`];
  if (s3 !== undefined) {
    lines.push(
      `    endpointurl = ${s3.endpoint}`,
      `    access_key_id = ${s3.accessKey}`,
      `    secret_access_key = ${s3.secretKey}`,
    );
  }
  writeFileSync(join(repo, ".dvc", "config.local"), lines.join("\n") + "\n");
}

export interface Timed {
  ms: number;
  rssMb: number;
}

let rssCleanup = false;

/** Wall time and peak RSS (GNU time's %M) of one successful run. */
export function timed(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Timed {
  const file = join(process.env["TMPDIR"] ?? "/tmp", `dxp-bench-rss-${process.pid}`);
  if (!rssCleanup) {
    rssCleanup = true;
    process.on("exit", () => rmSync(file, { force: true }));
  }
  const r = sh("/usr/bin/time", ["-f", "%M", "-o", file, cmd, ...args], options);
  const kb = Number(readFileSync(file, "utf8").trim().split("\n").pop());
  return { ms: r.ms, rssMb: kb / 1024 };
}

/** Regular files under `dir` (recursively). */
export function countFiles(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) n++;
  }
  return n;
}

export function fileBytes(path: string): number {
  return statSync(path).size;
}

/** The aws CLI without the pyenv shim in front (the shim adds its own start-up). */
export function awsProgram(): string {
  const r = spawnSync("pyenv", ["which", "aws"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : "aws";
}

/** Environment for awscli against `s3`: keys from env, `concurrency` requests at a time. */
export function awsEnv(dir: string, s3: S3Target, concurrency: number): Record<string, string> {
  const config = join(dir, "aws-config");
  writeFileSync(
    config,
    [
      "[default]",
      "region = us-east-1",
      // RGW does not need the new default checksums; keep what older awscli sent.
      "request_checksum_calculation = when_required",
      "response_checksum_validation = when_required",
      "s3 =",
      `    max_concurrent_requests = ${concurrency}`,
      "",
    ].join("\n"),
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("AWS_")) env[k] = v;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
  };
}

/** Environment for rclone with a remote named `rgw:` (AWS_CA_BUNDLE unset, see DESIGN §7). */
export function rcloneEnv(s3: S3Target): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("AWS_") && !k.startsWith("RCLONE_")) env[k] = v;
  }
  return {
    ...env,
    RCLONE_CONFIG_RGW_TYPE: "s3",
    RCLONE_CONFIG_RGW_PROVIDER: "Ceph",
    RCLONE_CONFIG_RGW_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID: s3.accessKey,
    RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: s3.secretKey,
  };
}

/** `openssl speed md5` on 16 KiB blocks, one core: MB/s (10^6 bytes). */
export function md5SpeedMBs(): number {
  const out = sh("openssl", ["speed", "-bytes", "16384", "-seconds", "3", "md5"]).stdout;
  const line = out.split("\n").find((l) => /^md5\s/.test(l));
  const k = line === undefined ? NaN : Number(line.trim().split(/\s+/).pop()!.replace(/k$/, ""));
  return (k * 1000) / 1e6;
}

export interface TimedLine {
  /** ms since the command started when the line arrived. */
  at: number;
  line: string;
}

/** Runs a command and timestamps each stderr line as it arrives. */
export function stderrTimeline(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> },
): Promise<{ ms: number; lines: TimedLine[] }> {
  return new Promise((resolve, reject) => {
    const [program, argv] = withExactEnv(cmd, args, options.env);
    const start = performance.now();
    const child = spawn(program, argv, {
      cwd: options.cwd,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines: TimedLine[] = [];
    let partial = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const at = performance.now() - start;
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      for (const line of parts) lines.push({ at, line });
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`${cmd} exited ${code}: ${lines.slice(-5).map((l) => l.line)}`));
      } else resolve({ ms: performance.now() - start, lines });
    });
  });
}
