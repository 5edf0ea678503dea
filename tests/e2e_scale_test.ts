/**
 * One directory output of many small files on the binary: memory must not
 * grow with the number of files (peak RSS from GNU time, a bound on memory,
 * never on time), results byte for byte, and a checkout killed while it
 * builds a new output leaves nothing half-written under a real name.
 * The trees live on tmpfs (/dev/shm) when there is one.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  buildFolders,
  buildScaleRepo,
  cloneScaleRepo,
  gitEnv,
  removeScaleDir,
  scaleFileBytes,
  scaleRelpath,
  scaleScratchDir,
  setLocalRemote,
} from "./helpers/scale_repo.ts";
import { DXP_BIN, run } from "./helpers/tmp.ts";
import { signalMidBuild } from "./helpers/dxp_process.ts";

const FILES = 200_000;
const MAX_RSS_MB = 200;

const env = { ...gitEnv(), NO_COLOR: "1" };

/** Runs dist/dxp under GNU time: exit code, output and peak RSS in MB. */
function dxpMeasured(args: string[], cwd: string): { code: number; out: string; rssMb: number } {
  const rssFile = join(cwd, "..", `rss-${process.pid}`);
  const r = run("/usr/bin/time", ["-f", "%M", "-o", rssFile, DXP_BIN, ...args], { cwd, env });
  const kb = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
  rmSync(rssFile);
  // The figure goes to the log: a bound that holds still shows how close it came.
  console.log(`dxp ${args.join(" ")}: peak RSS ${(kb / 1024).toFixed(0)} MB`);
  return { code: r.code, out: r.stdout + r.stderr, rssMb: kb / 1024 };
}

/** Every regular file below `dir` (recursively). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Checks every object of a cache or remote folder hashes to its name; returns how many there are. */
function verifiedObjects(dir: string): number {
  let n = 0;
  for (const path of filesUnder(dir)) {
    const name = path.split("/").slice(-2).join("");
    const digest = createHash("md5").update(readFileSync(path)).digest("hex");
    assert.equal(digest, name.replace(/\.dir$/, ""), path);
    n++;
  }
  return n;
}

/** Checks the work tree's `data/` holds exactly the generated files, byte for byte. */
function assertData(repo: string, files: number): void {
  const data = join(repo, "data");
  assert.equal(filesUnder(data).length, files);
  for (let i = 0; i < files; i++) {
    const path = join(data, ...scaleRelpath(i, 1000).split("/"));
    assert.deepEqual(new Uint8Array(readFileSync(path)), scaleFileBytes(i, 64), path);
  }
}

Deno.test(`dxp exp push, fresh-clone exp pull and checkout of ${FILES} files stay under ${MAX_RSS_MB} MB with byte-identical results`, () => {
  if (!existsSync("/usr/bin/time")) {
    console.warn("skipped: GNU time (/usr/bin/time) is not installed");
    return;
  }
  const dir = scaleScratchDir("dxp-scale-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), FILES);
    const remote = join(dir, "remote");
    setLocalRemote(s.repo, remote);

    const push = dxpMeasured(["exp", "push", "origin", s.exp], s.repo);
    assert.equal(push.code, 0, push.out);
    assert.match(push.out, new RegExp(`${FILES + 1} files uploaded`));
    assert.ok(push.rssMb <= MAX_RSS_MB, `exp push peaked at ${push.rssMb.toFixed(0)} MB`);
    assert.equal(
      run("git", ["ls-remote", s.originGit, s.ref], { env }).stdout.split("\t")[1]?.trim(),
      s.ref,
    );
    assert.equal(verifiedObjects(remote), FILES + 1);

    const clone = cloneScaleRepo(s, join(dir, "clone"), remote);
    const pull = dxpMeasured(["exp", "pull", "origin", s.exp], clone);
    assert.equal(pull.code, 0, pull.out);
    assert.ok(pull.rssMb <= MAX_RSS_MB, `exp pull peaked at ${pull.rssMb.toFixed(0)} MB`);
    assert.equal(verifiedObjects(join(clone, ".dvc", "cache")), FILES + 1);

    const checkout = dxpMeasured(["checkout"], clone);
    assert.equal(checkout.code, 0, checkout.out);
    assert.equal(checkout.out, "A       data/\n");
    assert.ok(checkout.rssMb <= MAX_RSS_MB, `checkout peaked at ${checkout.rssMb.toFixed(0)} MB`);
    assertData(clone, FILES);

    // Nothing to do: only stats, and the same bound.
    const again = dxpMeasured(["checkout"], clone);
    assert.equal(again.code, 0, again.out);
    assert.equal(again.out, "");
    assert.ok(again.rssMb <= MAX_RSS_MB, `no-op checkout peaked at ${again.rssMb.toFixed(0)} MB`);

    // Every object in both places: one look each, and the same bound.
    const status = dxpMeasured(["status", "-c"], clone);
    assert.equal(status.code, 0, status.out);
    assert.equal(status.out, "Cache and remote 'store' are in sync.\n");
    assert.ok(status.rssMb <= MAX_RSS_MB, `status -c peaked at ${status.rssMb.toFixed(0)} MB`);
  } finally {
    removeScaleDir(dir);
  }
});

Deno.test("dxp checkout killed while it builds a new directory output leaves no half-written file under a real name; the rerun completes", async () => {
  const files = 20_000;
  const dir = scaleScratchDir("dxp-scale-kill-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), files);
    setLocalRemote(s.repo, join(dir, "remote"));
    const data = join(s.repo, "data");
    const building = () => buildFolders(s.repo)[0];

    let caught = false;
    for (let attempt = 0; attempt < 5 && !caught; attempt++) {
      // Kill once a few thousand files are out in the folder being built (an event,
      // however slow the machine); a checkout that finished first is simply tried again.
      if ((await signalMidBuild(s.repo, "SIGKILL", "c0002", env)) === undefined) continue;
      caught = building() !== undefined;
    }
    assert.ok(caught, "the checkout was never caught half-way");
    // Killed half-way: the output is not there at all, only the folder being built.
    assert.equal(existsSync(data), false);
    const temp = join(s.repo, building()!);
    const done = filesUnder(temp);
    assert.ok(done.length > 0 && done.length < files, `${done.length} files built`);

    const rerun = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.stdout, "A       data/\n");
    assertData(s.repo, files);
    assert.equal(building(), undefined, "the leftover folder was removed");
    assert.ok(statSync(data).isDirectory());
  } finally {
    removeScaleDir(dir);
  }
});
