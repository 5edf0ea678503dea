/**
 * An ssh that leaves a process holding its pipes after it exits — the
 * background master of `ControlMaster=auto` + `ControlPersist`, or any
 * wrapper that starts a daemon — must not keep dxp waiting for those pipes
 * to close: the Git conversation was over when ssh exited.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import { startSshd } from "./helpers/sshd.ts";
import { DXP_BIN, runAsync } from "./helpers/tmp.ts";
import { processExists } from "../lib/util/process_exists.ts";

Deno.test("dxp does not wait for a process an ssh left holding its pipes (ControlPersist)", async () => {
  const sshd = await startSshd();
  const fx = await fixtureCopy("basic");
  const pidFile = join(fx.root, "holder.pid");
  try {
    const wrapper = join(fx.root, "ssh-leaving-a-holder");
    writeFileSync(
      wrapper,
      "#!/bin/sh\n" +
        "# Like a ControlPersist master: a background process keeps ssh's stdout and stderr open.\n" +
        `sleep 120 & echo $! > '${pidFile}'\n` +
        `exec ${sshd.sshCommand} "$@"\n`,
      { mode: 0o755 },
    );
    // A wrapper script: GIT_SSH_VARIANT says it takes OpenSSH options (-p for the port), as git needs.
    const env = { ...fx.env, GIT_SSH_COMMAND: wrapper, GIT_SSH_VARIANT: "ssh" };
    const remote = sshd.url(join(fx.root, "origin.git"));
    for (const args of [["exp", "list", "-A", remote], ["exp", "push", remote, "exp-b"]]) {
      const result = await runAsync(DXP_BIN, args, { cwd: fx.repo, env });
      assert.equal(result.code, 0, result.stderr);
      // It returned while the holder still had the pipes open (without waiting for it to end).
      const holder = Number(readFileSync(pidFile, "utf8"));
      assert.ok(
        processExists(holder),
        `${args.join(" ")}: returned only once the holder had ended`,
      );
      process.kill(holder, "SIGKILL");
    }
    // And the push did its job.
    const listed = await runAsync(DXP_BIN, ["exp", "list", "-A", "--name-only", remote], {
      cwd: fx.repo,
      env: { ...fx.env, GIT_SSH_COMMAND: sshd.sshCommand },
    });
    assert.match(listed.stdout, /^exp-b$/m);
  } finally {
    try {
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    } catch { /* already gone */ }
    await fx.cleanup();
    await sshd.stop();
  }
});
