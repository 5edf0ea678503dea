/**
 * Nothing lost: Ctrl-C in the middle of a push, a second dxp on the same
 * repository, and the rerun that finishes the job.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { generateSample } from "../scripts/sample/generate.ts";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { DXP_BIN, git, goldenEnv, runAsync, scratch } from "./helpers/tmp.ts";

Deno.test("SIGINT during exp push leaves no ref without its data, no temp or lock files; a rerun completes", async () => {
  const { dir, cleanup } = await scratch("dxp-sigint-");
  try {
    const sample = await generateSample(join(dir, "s"), {
      experiments: 1,
      files: 3000,
      fileSize: 4096,
    });
    const exp = sample.experiments.at(-1)!;
    const env = goldenEnv(dir);
    // Through a shell that reports dxp's own exit status (Deno's child_process
    // reports null for a child it sent a signal to, whatever the child did).
    const pidFile = join(dir, "pid");
    const child = spawn("sh", [
      "-c",
      `"$0" "$@" & echo $! > '${pidFile}'; wait $!; echo "exit=$?" >&2`,
      DXP_BIN,
      "exp",
      "push",
      "-j",
      "2",
      "origin",
      exp.name,
    ], { cwd: sample.repo, env });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
    let running = true;
    child.on("exit", () => running = false);
    // Interrupt as soon as some objects have reached the DVC remote, however long that takes.
    while (running && listFiles(sample.dvcStore).length < 50) {
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGINT");
    await new Promise((resolve) => child.on("close", resolve));
    assert.match(stderr, /ERROR: interrupted by the user\n/);
    assert.match(stderr, /exit=252\n$/, stderr);
    const uploaded = listFiles(sample.dvcStore);
    assert.ok(
      uploaded.length < exp.objects.length,
      `interrupted too late (${uploaded.length} objects)`,
    );
    assert.equal(
      uploaded.filter((f) => f.endsWith(".tmp")).length,
      0,
      "no temp files on the remote",
    );
    assert.equal(
      git(["ls-remote", sample.originGit], dir).includes(exp.ref),
      false,
      "ref not pushed",
    );
    assert.equal(existsSync(join(sample.repo, ".dvc", "tmp", "lock")), false, "lock released");
    git(["fsck", "--full"], sample.originGit);

    const rerun = await runAsync(DXP_BIN, ["exp", "push", "origin", exp.name], {
      cwd: sample.repo,
      env,
    });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /^Pushed experiment .+\n(\d+) files uploaded\n$/);
    const moved = Number(/(\d+) files uploaded/.exec(rerun.stdout)![1]);
    assert.equal(
      moved,
      exp.objects.length - uploaded.length,
      "the rerun moves only what was missing",
    );
    assert.deepEqual(listFiles(sample.dvcStore), [...exp.objects].sort());
    assert.ok(git(["ls-remote", sample.originGit], dir).includes(exp.ref));
  } finally {
    await cleanup();
  }
});

Deno.test("a second dxp on the same repository fails with DVC's lock message; a stale lock does not block", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // A lock held by a live process (this test process).
    mkdirSync(join(fx.repo, ".dvc", "tmp"), { recursive: true });
    const lock = join(fx.repo, ".dvc", "tmp", "lock");
    writeFileSync(lock, ` ${process.pid}\n`);
    const busy = await runAsync(DXP_BIN, ["exp", "push", "origin", "exp-a"], {
      cwd: fx.repo,
      env: fx.env,
    });
    assert.equal(busy.code, 255);
    assert.equal(
      busy.stderr,
      "ERROR: Unable to acquire lock. Most likely another DVC process is running or was terminated abruptly. " +
        "Check the page <https://dvc.org/doc/user-guide/troubleshooting#lock-issue> for other possible reasons " +
        "and to learn how to resolve this.\n",
    );
    // That the --wait-for-lock variant really waits is proven without timing
    // in e2e_cli_options_test.ts; here the lock is released for the next step.
    rmSync(lock);
    // A stale lock (its process is gone) does not block.
    writeFileSync(lock, " 999999\n");
    const stale = await runAsync(DXP_BIN, ["exp", "list"], { cwd: fx.repo, env: fx.env });
    assert.equal(stale.code, 0);
    const pushStale = await runAsync(DXP_BIN, ["exp", "push", "origin", "exp-a"], {
      cwd: fx.repo,
      env: fx.env,
    });
    assert.equal(pushStale.code, 0, pushStale.stderr);
  } finally {
    await fx.cleanup();
  }
});
