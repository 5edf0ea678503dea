import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  AuthError,
  GitRemoteError,
  InterruptedError,
  InvalidArgumentError,
} from "../lib/errors/mod.ts";
import { openTransport } from "../lib/git/transport/registry.ts";
import type { TransportOptions } from "../lib/git/transport/types.ts";
import { initRepo } from "./helpers/git_repo.ts";
import { type Sshd, startSshd } from "./helpers/sshd.ts";
import { run, scratch } from "./helpers/tmp.ts";
import { transportSuite } from "./transport_suite.ts";
import { processExists } from "../lib/util/process_exists.ts";

for (const acceptEnv of [true, false]) {
  transportSuite(
    `ssh (protocol v${acceptEnv ? 2 : 0})`,
    async () => {
      const sshd = await startSshd({ acceptEnv });
      return {
        makeUrl: (path: string) => sshd.url(path),
        options: { env: sshd.env, cwd: "/", gitConfig: () => undefined },
        teardown: () => sshd.stop(),
        expectProtocol: acceptEnv ? 2 : 0,
        unprivileged: async () => {
          const nobody = await startSshd({ acceptEnv, asNobody: true });
          return {
            makeUrl: (path: string) => nobody.url(path),
            options: { env: nobody.env, cwd: "/", gitConfig: () => undefined },
            teardown: () => nobody.stop(),
          };
        },
      };
    },
  );
}

async function withSshd(
  fn: (sshd: Sshd, dir: string) => Promise<void>,
  acceptEnv = true,
): Promise<void> {
  const sshd = await startSshd({ acceptEnv });
  const { dir, cleanup } = await scratch("dxp-ssh-");
  try {
    await fn(sshd, dir);
  } finally {
    await sshd.stop();
    await cleanup();
  }
}

function options(env: Record<string, string>): TransportOptions {
  return { env, cwd: "/", gitConfig: () => undefined };
}

/** Writes an executable fake ssh program. */
function fakeSsh(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

Deno.test("ssh transport fails with AuthError 'Permission denied' for a key the server does not know", async () => {
  await withSshd(async (sshd, dir) => {
    const remote = initRepo(join(dir, "r.git"), true);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "stranger")]);
    const env = {
      ...sshd.env,
      DXP_SSH_COMMAND: sshd.sshCommand.replace(sshd.clientKey, join(dir, "stranger")),
    };
    const transport = openTransport(sshd.url(remote), options(env));
    await assert.rejects(() => transport.listRefs(), (e: unknown) => {
      return e instanceof AuthError &&
        /^Authentication failed for: '.+@127\.0\.0\.1:\d+'/.test(e.message) &&
        e.message.includes("Permission denied (publickey)") && !e.message.includes("\n");
    });
  });
});

Deno.test("ssh transport names ssh's reason when the connection is refused", async () => {
  await withSshd(async (sshd, dir) => {
    const port = sshd.port;
    await sshd.stop();
    const transport = openTransport(`ssh://127.0.0.1:${port}${dir}`, options(sshd.env));
    await assert.rejects(() => transport.openPush(), (e: unknown) => {
      return e instanceof GitRemoteError &&
        e.message.startsWith("Could not connect to the Git remote") &&
        e.message.includes("Connection refused");
    });
  });
});

Deno.test("ssh transport reports a server without git-upload-pack as not a valid Git remote", async () => {
  const { dir, cleanup } = await scratch("dxp-ssh-");
  try {
    const fake = fakeSsh(dir, "fake-ssh", 'echo "sh: 1: git-upload-pack: not found" >&2; exit 127');
    const transport = openTransport(
      "me@example.com:repo.git",
      options({ PATH: process.env["PATH"]!, GIT_SSH: fake }),
    );
    await assert.rejects(() => transport.listRefs(), (e: unknown) => {
      return e instanceof GitRemoteError &&
        e.message ===
          "'me@example.com:repo.git' is not a valid Git remote or URL (sh: 1: git-upload-pack: not found).";
    });
  } finally {
    await cleanup();
  }
});

Deno.test("ssh transport passes GIT_SSH a plain argument list and the remote command with a quoted path", async () => {
  const { dir, cleanup } = await scratch("dxp-ssh-");
  try {
    const log = join(dir, "args");
    const fake = fakeSsh(dir, "wrapper", `printf '%s\\n' "$@" > '${log}'; printf '0000'`);
    const transport = openTransport(
      "me@example.com:it's here.git",
      options({ PATH: process.env["PATH"]!, GIT_SSH: fake }),
    );
    const adv = await transport.listRefs();
    assert.equal(adv.refs.size, 0);
    // Unknown program ("simple" variant): no -o/-p/-- options at all.
    assert.deepEqual(readFileSync(log, "utf8").split("\n").slice(0, -1), [
      "me@example.com",
      `git-upload-pack 'it'\\''s here.git'`,
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("ssh transport kills the ssh process when the caller aborts", async () => {
  const { dir, cleanup } = await scratch("dxp-ssh-");
  try {
    const pidFile = join(dir, "pid");
    // The stand-in says when it runs, then waits for ever (an hour) for an answer.
    const fake = fakeSsh(
      dir,
      "ssh",
      `echo $$ > '${pidFile}.tmp'; mv '${pidFile}.tmp' '${pidFile}'; exec sleep 3600`,
    );
    const transport = openTransport(
      "ssh://example.com/repo",
      options({ PATH: process.env["PATH"]!, DXP_SSH_COMMAND: `${fake} -q` }),
    );
    const controller = new AbortController();
    const listing = transport.listRefs({ signal: controller.signal });
    listing.catch(() => undefined);
    while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 10));
    const pid = Number(readFileSync(pidFile, "utf8"));
    controller.abort(); // the ssh process is running: abort now
    // Only a kill ends `sleep 3600`. Should the transport not kill it, the test does so after
    // a minute rather than hang for an hour, and fails.
    let rescued = false;
    const guard = setTimeout(() => {
      rescued = true;
      process.kill(pid, "SIGKILL");
    }, 60_000);
    await assert.rejects(listing, InterruptedError);
    clearTimeout(guard);
    assert.equal(rescued, false, "listRefs() ended only when the test killed the ssh stand-in");
    // The transport waits for the process to exit before it rejects.
    assert.equal(processExists(pid), false, "the ssh stand-in is gone when listRefs() rejects");
  } finally {
    await cleanup();
  }
});

Deno.test("ssh transport rejects an option-like host before starting any process", async () => {
  const { dir, cleanup } = await scratch("dxp-ssh-");
  try {
    const marker = join(dir, "ran");
    const fake = fakeSsh(dir, "ssh", `touch '${marker}'`);
    const env = { PATH: process.env["PATH"]!, GIT_SSH: fake };
    assert.throws(
      () => openTransport("ssh://-oProxyCommand=touch/x", options(env)),
      InvalidArgumentError,
    );
    assert.throws(() => openTransport("-oProxyCommand=x:repo", options(env)), InvalidArgumentError);
    assert.equal(existsSync(marker), false);
  } finally {
    await cleanup();
  }
});

Deno.test("ssh transport speaks v2 through GIT_SSH_COMMAND and core.sshCommand too", async () => {
  await withSshd(async (sshd, dir) => {
    const remote = initRepo(join(dir, "r.git"), true);
    const viaGitSshCommand = openTransport(
      sshd.url(remote),
      options({ ...sshd.env, DXP_SSH_COMMAND: "", GIT_SSH_COMMAND: sshd.sshCommand }),
    );
    assert.equal((await viaGitSshCommand.listRefs()).protocol, 2);
    const { DXP_SSH_COMMAND: _unused, ...plainEnv } = sshd.env;
    const viaConfig = openTransport(sshd.url(remote), {
      env: plainEnv,
      cwd: "/",
      gitConfig: (key) => (key === "core.sshCommand" ? sshd.sshCommand : undefined),
    });
    assert.equal((await viaConfig.listRefs()).protocol, 2);
  });
});
