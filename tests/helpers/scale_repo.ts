/**
 * A DVC project with one directory output of many small files, built
 * directly (no DVC, no dxp): the Git repository with `data.dvc` committed
 * as `main`, one experiment commit on it under `refs/exps/…`, a bare
 * `origin.git` holding `main`, and the local cache filled with every object
 * (mode 0444) and the `.dir` manifest. The work tree has no `data/` folder:
 * a checkout makes it. Used by the scale test and `scripts/bench/scale.ts`.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { serializeDirManifest } from "../../lib/dvc/dir_manifest.ts";

export interface ScaleRepo {
  readonly root: string;
  readonly repo: string;
  readonly originGit: string;
  /** The experiment's name and full ref. */
  readonly exp: string;
  readonly ref: string;
  readonly files: number;
  /** oid of the output's `.dir` object. */
  readonly dirOid: string;
}

export interface ScaleOptions {
  /** Bytes per file (default 64). */
  readonly fileSize?: number;
  /** Files per sub-folder of the output (default 1000, like ImageNet's classes). */
  readonly perDir?: number;
}

/** Environment for git with a fixed identity and no user or system config. */
export function gitEnv(): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/tmp",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Scale Author",
    GIT_AUTHOR_EMAIL: "author@scale.invalid",
    GIT_COMMITTER_NAME: "Scale Committer",
    GIT_COMMITTER_EMAIL: "committer@scale.invalid",
    GIT_AUTHOR_DATE: "1704067200 +0000",
    GIT_COMMITTER_DATE: "1704067200 +0000",
  };
}

function git(cwd: string, args: string[]): string {
  const r = spawnSync("git", args, { cwd, env: gitEnv(), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** The bytes of file `i` of the output: a unique line padded to `size` bytes. */
export function scaleFileBytes(i: number, size: number): Uint8Array {
  const head = `dxp scale file ${i}\n`;
  const bytes = new Uint8Array(Math.max(size, head.length)).fill(0x2e);
  for (let k = 0; k < head.length; k++) bytes[k] = head.charCodeAt(k);
  if (bytes.length > head.length) bytes[bytes.length - 1] = 0x0a;
  return bytes;
}

/** Project path of file `i` inside the output `data`. */
export function scaleRelpath(i: number, perDir: number): string {
  return `c${String(Math.floor(i / perDir)).padStart(4, "0")}/f${String(i).padStart(7, "0")}.txt`;
}

/** Builds the project under `root` (an empty or missing folder). */
export function buildScaleRepo(root: string, files: number, options: ScaleOptions = {}): ScaleRepo {
  const size = options.fileSize ?? 64;
  const perDir = options.perDir ?? 1000;
  const repo = join(root, "repo");
  const cache = join(repo, ".dvc", "cache", "files", "md5");
  mkdirSync(cache, { recursive: true });
  for (let i = 0; i < 256; i++) mkdirSync(join(cache, i.toString(16).padStart(2, "0")));
  const entries: { md5: string; relpath: string }[] = new Array(files);
  let bytesTotal = 0;
  for (let i = 0; i < files; i++) {
    const bytes = scaleFileBytes(i, size);
    const md5 = createHash("md5").update(bytes).digest("hex");
    writeFileSync(join(cache, md5.slice(0, 2), md5.slice(2)), bytes, { mode: 0o444, flag: "wx" });
    entries[i] = { md5, relpath: scaleRelpath(i, perDir) };
    bytesTotal += bytes.length;
  }
  const manifest = serializeDirManifest(entries);
  const dirMd5 = createHash("md5").update(manifest).digest("hex");
  const dirOid = `${dirMd5}.dir`;
  writeFileSync(join(cache, dirMd5.slice(0, 2), dirOid.slice(2)), manifest, { mode: 0o444 });

  git(root, ["init", "-q", "-b", "main", repo]);
  writeFileSync(join(repo, ".dvc", "config"), "");
  writeFileSync(join(repo, ".dvc", ".gitignore"), "/config.local\n/tmp\n/cache\n");
  writeFileSync(join(repo, ".gitignore"), "/data\n");
  writeFileSync(
    join(repo, "data.dvc"),
    `outs:\n- md5: ${dirOid}\n  size: ${bytesTotal}\n  nfiles: ${files}\n  hash: md5\n  path: data\n`,
  );
  git(repo, ["add", ".dvc/config", ".dvc/.gitignore", ".gitignore", "data.dvc"]);
  git(repo, ["commit", "-q", "-m", "data"]);
  const baseline = git(repo, ["rev-parse", "HEAD"]);
  writeFileSync(join(repo, "params.yaml"), "lr: 0.2\n");
  git(repo, ["add", "params.yaml"]);
  const tree = git(repo, ["write-tree"]);
  git(repo, ["reset", "-q", "HEAD", "params.yaml"]);
  const expCommit = git(repo, ["commit-tree", tree, "-p", baseline, "-m", "exp-scale"]);
  const exp = "exp-scale";
  const ref = `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/${exp}`;
  git(repo, ["update-ref", ref, expCommit]);
  const originGit = join(root, "origin.git");
  git(root, ["init", "-q", "--bare", "-b", "main", originGit]);
  git(repo, ["push", "-q", originGit, "main"]);
  git(repo, ["remote", "add", "origin", originGit]);
  git(repo, ["fetch", "-q", "origin"]);
  return { root, repo, originGit, exp, ref, files, dirOid };
}

/** Points the project's default DVC remote `store` at the local folder `url` (`.dvc/config.local`). */
export function setLocalRemote(repo: string, url: string, cacheType?: string): void {
  const lines = ["[core]", "    remote = store", `['remote "store"']`, `    url = ${url}`];
  if (cacheType !== undefined) lines.push("[cache]", `    type = ${cacheType}`);
  writeFileSync(join(repo, ".dvc", "config.local"), lines.join("\n") + "\n");
}

/** A fresh clone of `origin.git` (no cache, no data) with the remote set. */
export function cloneScaleRepo(s: ScaleRepo, dest: string, remote: string): string {
  git(s.root, ["clone", "-q", s.originGit, dest]);
  setLocalRemote(dest, remote);
  return dest;
}

/** A scratch folder on tmpfs when there is one (64-byte files cost a page each there, not a block). */
export function scaleScratchDir(prefix: string): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : process.env["TMPDIR"] ?? "/tmp";
  return mkdtempSync(join(base, prefix));
}

/** Removes a scratch tree, read-only folders (a protected cache) included. */
export function removeScaleDir(dir: string): void {
  spawnSync("chmod", ["-R", "u+w", dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** The folders a checkout builds the output `data` in (`.data.<22 chars>.tmp`), beside it in `repo`. */
export function buildFolders(repo: string): string[] {
  return readdirSync(repo).filter((n) => /^\.data\.[A-Za-z0-9_-]{22}\.tmp$/.test(n));
}
