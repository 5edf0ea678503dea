import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import { startGitHttpServer } from "./helpers/http_git_server.ts";
import { startSshd } from "./helpers/sshd.ts";
import { DXP_BIN, runAsync, scratch } from "./helpers/tmp.ts";

/** Push → list → fresh clone → pull of one experiment, with the Git remote given as `url`. */
async function roundTrip(url: (originPath: string) => string, env: Record<string, string>) {
  const fx = await fixtureCopy("basic");
  try {
    const origin = join(fx.root, "origin.git");
    const remote = url(origin);
    // Asynchronous: the HTTPS server runs inside this test process.
    const run = (args: string[], cwd = fx.repo) => runAsync(DXP_BIN, args, { cwd, env: fx.env });
    Object.assign(fx.env, env);
    const pushed = await run(["exp", "push", remote, "exp-a"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(
      pushed.stdout,
      `Pushed experiment exp-a to Git remote '${remote}'.\n12 files uploaded\n`,
    );
    fx.git(["fsck", "--full"], origin);
    const listed = await run(["exp", "list", "-A", remote]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout.split("\n").filter(Boolean).sort(),
      ["21f7f42:", "\texp-b", "main:", "\texp-a", "\ttyped-gulf"].sort(),
    );
    const clone = fx.freshClone();
    const pulled = await run(["exp", "pull", remote, "exp-a"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout, `Pulled experiment exp-a from Git remote '${remote}'.\n`);
    fx.git(["fsck", "--full"], clone);
    assert.equal(
      fx.git(["rev-parse", "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a"], clone)
        .trim(),
      "3fb57963e586fb005a7fcbc7cf7ca4831bdff876",
    );
    const expA = "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a";
    assert.match(fx.git(["ls-remote", origin, expA]), /^3fb5796/);
    const removed = await run(["exp", "remove", "-g", remote, "exp-a"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, "Removed experiments: 'exp-a'\n");
    // Gone on the remote (the others stay); the local ref is kept.
    assert.equal(fx.git(["ls-remote", origin, expA]), "");
    assert.equal(
      fx.git(["ls-remote", origin, "refs/exps/*"]).split("\n").filter(Boolean).length,
      2,
    );
    assert.equal(fx.git(["rev-parse", expA]).trim(), "3fb57963e586fb005a7fcbc7cf7ca4831bdff876");
    return fx;
  } catch (error) {
    await fx.cleanup();
    throw error;
  }
}

for (const acceptEnv of [true, false]) {
  Deno.test(`dxp exp push/list/pull/remove over ssh (protocol ${acceptEnv ? "v2" : "v0"}) with one ssh connection per command`, async () => {
    const sshd = await startSshd({ acceptEnv });
    const { dir, cleanup } = await scratch();
    try {
      // Every ssh process dxp starts goes through this wrapper, which counts them.
      const log = join(dir, "ssh.log");
      const wrapper = join(dir, "ssh-counting");
      writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ${sshd.sshCommand} "$@"\n`);
      chmodSync(wrapper, 0o755);
      const fx = await roundTrip((path) => sshd.url(path), {
        ...sshd.env,
        DXP_SSH_COMMAND: wrapper,
        GIT_SSH_VARIANT: "ssh",
      });
      await fx.cleanup();
      const connections = readFileSync(log, "utf8").split("\n").filter(Boolean);
      // push, list, pull, remove: one connection each (data goes to the local DVC remote).
      assert.equal(connections.length, 4, connections.join("\n"));
    } finally {
      await cleanup();
      await sshd.stop();
    }
  });
}

Deno.test("dxp exp push/list/pull/remove over https with a private CA", async () => {
  const server = await startGitHttpServer({ tls: true, projectRoot: "/" });
  try {
    const fx = await roundTrip((path) => `${server.baseUrl}${path}`, {
      SSL_CERT_FILE: server.caFile!,
    });
    await fx.cleanup();
  } finally {
    await server.stop();
  }
});
