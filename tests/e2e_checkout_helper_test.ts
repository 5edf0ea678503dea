/**
 * On the binary: a new directory output big enough for the checkout's
 * helper thread (≥ 4096 files) is written by both threads, byte for byte,
 * as copies or as hard links of the cache; objects the native path must
 * not trust still go through the checks of the node:fs path.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  buildFolders,
  buildScaleRepo,
  gitEnv,
  removeScaleDir,
  scaleFileBytes,
  scaleRelpath,
  scaleScratchDir,
  setLocalRemote,
} from "./helpers/scale_repo.ts";
import { DXP_BIN, run } from "./helpers/tmp.ts";
import { isRoot } from "./helpers/unprivileged.ts";
import { signalMidBuild } from "./helpers/dxp_process.ts";

const FILES = 6000;
const env = { ...gitEnv(), NO_COLOR: "1" };

function objectPath(repo: string, bytes: Uint8Array): string {
  const md5 = createHash("md5").update(bytes).digest("hex");
  return join(repo, ".dvc", "cache", "files", "md5", md5.slice(0, 2), md5.slice(2));
}

/** The files (`*.txt`) below `data/` of `repo`. */
function dataFileCount(repo: string): number {
  return readdirSync(join(repo, "data"), { recursive: true })
    .filter((n) => String(n).endsWith(".txt")).length;
}

/** How many files `dxp -v` says the second thread looked up in the workspace. */
function lookedUp(stderr: string): number {
  const m = /checkout: (\d+) files looked up by a second thread/.exec(stderr);
  return m === null ? 0 : Number(m[1]);
}

/** How many files `dxp -v` says the second thread wrote. */
function helperFiles(stderr: string): number {
  const m = /checkout: (\d+) files written by a second thread/.exec(stderr);
  return m === null ? 0 : Number(m[1]);
}

for (const type of ["copy", "hardlink"] as const) {
  Deno.test(`dxp checkout (cache.type ${type}) of ${FILES} new files: both threads write, byte for byte`, () => {
    const dir = scaleScratchDir("dxp-helper-");
    try {
      const s = buildScaleRepo(join(dir, "sample"), FILES);
      setLocalRemote(s.repo, join(dir, "remote"), type);
      const r = run(DXP_BIN, ["-v", "checkout"], { cwd: s.repo, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "A       data/\n");
      const byHelper = helperFiles(r.stderr);
      assert.ok(byHelper > 0 && byHelper < FILES, `${byHelper} files by the second thread`);

      const data = join(s.repo, "data");
      assert.equal(dataFileCount(s.repo), FILES);
      const fileMode = 0o666 & ~process.umask();
      for (let i = 0; i < FILES; i++) {
        const path = join(data, ...scaleRelpath(i, 1000).split("/"));
        const bytes = scaleFileBytes(i, 64);
        assert.deepEqual(new Uint8Array(readFileSync(path)), bytes, path);
        const st = lstatSync(path);
        const cacheIno = lstatSync(objectPath(s.repo, bytes)).ino;
        if (type === "hardlink") assert.equal(st.ino, cacheIno, `${path} is the cache object`);
        else {
          assert.notEqual(st.ino, cacheIno, `${path} is a copy`);
          assert.equal(st.mode & 0o777, fileMode, `${path} mode`);
        }
      }
      assert.deepEqual(buildFolders(s.repo), []);

      // The stamps both threads recorded make the next run a no-op that writes nothing.
      const inodes = lstatSync(join(data, "c0005", "f0005999.txt")).ino;
      const stateFile = join(s.repo, ".dvc", "tmp", "dxp", "checkout-state.json");
      const stateIno = lstatSync(stateFile).ino;
      const again = run(DXP_BIN, ["-v", "checkout"], { cwd: s.repo, env });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, "");
      assert.equal(helperFiles(again.stderr), 0);
      assert.equal(lstatSync(join(data, "c0005", "f0005999.txt")).ino, inodes);
      assert.equal(lstatSync(stateFile).ino, stateIno, "nor the state: nothing changed");
    } finally {
      removeScaleDir(dir);
    }
  });
}

// Jobs end at folder ends, and at most every 8192 files inside one folder: a
// folder bigger than that and folders of a few files are built whole.
for (const perDir of [9000, 3]) {
  Deno.test(`dxp checkout of a new output in folders of ${perDir} files: every file there, byte for byte`, () => {
    const dir = scaleScratchDir("dxp-helper-");
    const files = perDir === 3 ? 6000 : 12_000;
    try {
      const s = buildScaleRepo(join(dir, "sample"), files, { perDir });
      setLocalRemote(s.repo, join(dir, "remote"), "hardlink");
      const r = run(DXP_BIN, ["-v", "checkout"], { cwd: s.repo, env });
      assert.equal(r.code, 0, r.stderr);
      const byHelper = helperFiles(r.stderr);
      assert.ok(byHelper > 0 && byHelper < files, `${byHelper} files by the second thread`);
      const data = join(s.repo, "data");
      assert.equal(dataFileCount(s.repo), files);
      for (let i = 0; i < files; i++) {
        const path = join(data, ...scaleRelpath(i, perDir).split("/"));
        assert.deepEqual(new Uint8Array(readFileSync(path)), scaleFileBytes(i, 64), path);
      }
      assert.deepEqual(buildFolders(s.repo), []);
    } finally {
      removeScaleDir(dir);
    }
  });
}

Deno.test("dxp checkout of a big new output: an unprotected object is re-hashed and used, a corrupt one fails the output with nothing written", () => {
  const dir = scaleScratchDir("dxp-helper-trust-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), FILES);
    setLocalRemote(s.repo, join(dir, "remote"), "copy");
    // Deep in the output, so the second thread meets them.
    const loose = objectPath(s.repo, scaleFileBytes(4321, 64));
    chmodSync(loose, 0o644);
    const ok = run(DXP_BIN, ["-v", "checkout"], { cwd: s.repo, env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(helperFiles(ok.stderr) > 0);
    assert.deepEqual(
      new Uint8Array(readFileSync(join(s.repo, "data", "c0004", "f0004321.txt"))),
      scaleFileBytes(4321, 64),
    );
    assert.equal(lstatSync(loose).mode & 0o777, 0o444, "checked, then protected as DVC does");

    removeScaleDir(join(s.repo, "data"));
    const corrupt = objectPath(s.repo, scaleFileBytes(5555, 64));
    chmodSync(corrupt, 0o644);
    writeFileSync(corrupt, "not what the manifest says\n");
    const bad = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /data/);
    assert.equal(existsSync(join(s.repo, "data")), false, "no half output");
    assert.deepEqual(buildFolders(s.repo), []);
    assert.equal(existsSync(corrupt), false, "the corrupt object is dropped from the cache");
  } finally {
    removeScaleDir(dir);
  }
});

Deno.test("dxp checkout of a big new output onto a disk that fills up: one clear error, nothing half there; after room is made the rerun completes", () => {
  if (!isRoot()) {
    console.warn("skipped: mounting a small tmpfs needs root");
    return;
  }
  const dir = scaleScratchDir("dxp-helper-full-");
  const disk = join(dir, "disk");
  mkdirSync(disk);
  // Room for about 4,500 of the 6,000 files (a page each): full well after the second thread starts.
  assert.equal(run("mount", ["-t", "tmpfs", "-o", "size=18m", "tmpfs", disk]).code, 0);
  try {
    const s = buildScaleRepo(join(dir, "sample"), FILES);
    // The work tree on the small disk, the cache where it was built.
    const repo = join(disk, "repo");
    assert.equal(run("git", ["clone", "-q", s.repo, repo], { env }).code, 0);
    writeFileSync(
      join(repo, ".dvc", "config.local"),
      `[cache]\n    dir = ${join(s.repo, ".dvc", "cache")}\n    type = copy\n`,
    );
    const full = run(DXP_BIN, ["checkout"], { cwd: repo, env });
    assert.equal(full.code, 255, full.stderr);
    // Named by its place in the workspace, not in the folder being built (which is gone).
    assert.match(
      full.stderr,
      /^ERROR: Failed to write 'data\/c\d{4}\/f\d{7}\.txt': no space left on the device \(ENOSPC\); free space or fix the file system and retry\.\n$/,
    );
    assert.equal(full.stderr.split("\n").length, 2, "one line");
    assert.equal(existsSync(join(repo, "data")), false, "no half output");
    assert.deepEqual(buildFolders(repo), [], "the folder being built is removed");

    assert.equal(run("mount", ["-o", "remount,size=64m", disk]).code, 0);
    const rerun = run(DXP_BIN, ["-v", "checkout"], { cwd: repo, env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.stdout, "A       data/\n");
    assert.ok(helperFiles(rerun.stderr) > 0);
    for (const i of [0, 2999, 5999]) {
      const path = join(repo, "data", ...scaleRelpath(i, 1000).split("/"));
      assert.deepEqual(new Uint8Array(readFileSync(path)), scaleFileBytes(i, 64), path);
    }
    assert.equal(dataFileCount(repo), FILES);
  } finally {
    run("umount", [disk]);
    removeScaleDir(dir);
  }
});

Deno.test("Ctrl-C while both threads build a big new output: exit 252, the folder being built removed whole, the rerun completes", async () => {
  const files = 20_000;
  const dir = scaleScratchDir("dxp-helper-sigint-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), files);
    setLocalRemote(s.repo, join(dir, "remote"), "copy");
    let caught = false;
    for (let attempt = 0; attempt < 5 && !caught; attempt++) {
      // Interrupt once a few thousand files are out; a checkout that finished first is tried again.
      const stderr = await signalMidBuild(s.repo, "SIGINT", "c0003", env);
      if (stderr === undefined) continue;
      caught = true;
      assert.match(stderr, /^ERROR: interrupted by the user\nexit=252\n$/, stderr);
      // The helper had stopped writing before the folder went: nothing of it is left.
      assert.deepEqual(buildFolders(s.repo), []);
    }
    assert.ok(caught, "the checkout was never interrupted half-way");
    const rerun = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.stdout, "A       data/\n");
    assert.equal(dataFileCount(s.repo), files);
  } finally {
    removeScaleDir(dir);
  }
});

Deno.test("dxp checkout of an existing big output restores files deep in it: a deleted one, and with -f a modified one", () => {
  const files = 20_000;
  const dir = scaleScratchDir("dxp-deep-restore-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), files);
    setLocalRemote(s.repo, join(dir, "remote"), "copy");
    assert.equal(run(DXP_BIN, ["checkout"], { cwd: s.repo, env }).code, 0);
    // Far past the first few thousand entries, which need nothing.
    const gone = join(s.repo, "data", ...scaleRelpath(19_999, 1000).split("/"));
    rmSync(gone);
    const restored = run(DXP_BIN, ["-v", "checkout"], { cwd: s.repo, env });
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(restored.stdout, "M       data/\n");
    // Past 16,384 files the lookups go to the second thread (it is waited for once there).
    assert.ok(lookedUp(restored.stderr) >= files - 16_384, restored.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(gone)), scaleFileBytes(19_999, 64));

    const edited = [12_345, 19_998].map((i) =>
      join(s.repo, "data", ...scaleRelpath(i, 1000).split("/"))
    );
    for (const path of edited) writeFileSync(path, "edited\n");
    const refused = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /data\/c0012\/f0012345\.txt\ndata\/c0019\/f0019998\.txt/);
    const forced = run(DXP_BIN, ["checkout", "-f"], { cwd: s.repo, env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, "M       data/\n");
    assert.deepEqual(new Uint8Array(readFileSync(edited[0]!)), scaleFileBytes(12_345, 64));
    assert.deepEqual(new Uint8Array(readFileSync(edited[1]!)), scaleFileBytes(19_998, 64));
    const again = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "");
  } finally {
    removeScaleDir(dir);
  }
});

Deno.test("dxp checkout of an existing big output: a target inside it restores only there; files and folders it does not have, and leftovers, go with -f", () => {
  const files = 20_000;
  const dir = scaleScratchDir("dxp-deep-extra-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), files);
    setLocalRemote(s.repo, join(dir, "remote"), "hardlink");
    assert.equal(run(DXP_BIN, ["checkout"], { cwd: s.repo, env }).code, 0);
    const file = (i: number) => join(s.repo, "data", ...scaleRelpath(i, 1000).split("/"));
    rmSync(file(3_210));
    rmSync(file(17_654));
    const part = run(DXP_BIN, ["checkout", "data/c0017"], { cwd: s.repo, env });
    assert.equal(part.code, 0, part.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(file(17_654))), scaleFileBytes(17_654, 64));
    assert.equal(existsSync(file(3_210)), false, "outside the target: left as it is");

    // Another file, a folder and a temp left by a killed run: none of them the output's.
    const extra = join(s.repo, "data", "c0015", "extra.txt");
    writeFileSync(extra, "mine\n");
    mkdirSync(join(s.repo, "data", "c0020", "deeper"), { recursive: true });
    writeFileSync(join(s.repo, "data", "c0020", "deeper", "more.txt"), "more\n");
    const temp = join(s.repo, "data", "c0016", ".AAAAAAAAAAAAAAAAAAAAAA.tmp");
    writeFileSync(temp, "half");
    const refused = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unsaved files[\s\S]*data\/c0015\/extra\.txt/);
    assert.equal(existsSync(file(3_210)), false, "refused: nothing changed");
    assert.equal(existsSync(temp), true, "refused: nothing changed");

    const forced = run(DXP_BIN, ["-v", "checkout", "-f"], { cwd: s.repo, env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, "M       data/\n");
    assert.ok(lookedUp(forced.stderr) > 0, forced.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(file(3_210))), scaleFileBytes(3_210, 64));
    assert.equal(existsSync(extra), false);
    assert.equal(existsSync(join(s.repo, "data", "c0020")), false, "the folder pruned");
    assert.equal(existsSync(temp), false);
    assert.equal(dataFileCount(s.repo), files);
    const again = run(DXP_BIN, ["checkout"], { cwd: s.repo, env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "");
  } finally {
    removeScaleDir(dir);
  }
});
