import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { GitRemoteError } from "../lib/errors/mod.ts";
import { buildPack } from "../lib/git/pack/build_pack.ts";
import { objectsToSend } from "../lib/git/pack/objects_to_send.ts";
import { openTransport } from "../lib/git/transport/registry.ts";
import type { RefUpdateResult, TransportOptions } from "../lib/git/transport/types.ts";
import { ZERO_OID } from "../lib/git/transport/types.ts";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import { commitExps, commitFiles, expRef, forEachRef, g, initRepo } from "./helpers/git_repo.ts";
import { scratch } from "./helpers/tmp.ts";
import { transportSuite } from "./transport_suite.ts";

const options = {
  env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
  cwd: "/",
  gitConfig: () => undefined,
};

transportSuite("local path", () =>
  Promise.resolve({
    makeUrl: (path: string) => path,
    options,
    teardown: () => Promise.resolve(),
    unprivileged: "client",
  }));

transportSuite("file:// URL", () =>
  Promise.resolve({
    makeUrl: (path: string) => `file://${path}`,
    options,
    teardown: () => Promise.resolve(),
    unprivileged: "client",
  }));

/** A local repository with two experiments, an empty bare remote, and a push helper. */
async function withHookedRemote(
  fn: (t: {
    dir: string;
    remote: string;
    exps: Map<string, string>;
    hook(name: string, body: string, folder?: string): void;
    /** Pushes both experiments; `beforeSend` runs once the session is open. */
    push(env?: TransportOptions["env"], beforeSend?: () => void): Promise<RefUpdateResult[]>;
    objects(): string[];
  }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await scratch("dxp-local-hooks-");
  try {
    const local = initRepo(join(dir, "local"));
    const remote = initRepo(join(dir, "remote.git"), true);
    const baseline = commitFiles(local, { "params.yaml": "lr: 0\n" }, "base");
    const shas = commitExps(local, baseline, [
      { name: "exp-1", files: { "params.yaml": "lr: 1\n" } },
      { name: "exp-2", files: { "params.yaml": "lr: 2\n" } },
    ]);
    const exps = new Map([...shas].map(([name, sha]) => [expRef(baseline, name), sha]));
    await fn({
      dir,
      remote,
      exps,
      hook(name, body, folder = join(remote, "hooks")) {
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(folder, name), 0o755);
      },
      async push(env = options.env, beforeSend) {
        const transport = openTransport(remote, { ...options, env });
        const session = await transport.openPush();
        try {
          beforeSend?.();
          const has = [...session.advertisement.refs.values()];
          const pack = await buildPack(
            join(local, ".git"),
            await objectsToSend(join(local, ".git"), [...exps.values()], has),
          );
          const updates = [...exps].map(([ref, newOid]) => ({ ref, oldOid: ZERO_OID, newOid }));
          return await session.send(updates, pack, { atomic: false });
        } finally {
          await session.close();
        }
      },
      objects: () =>
        readdirSync(join(remote, "objects"), { recursive: true }).map(String)
          .filter((path) => !path.startsWith("info") && !path.startsWith("pack")).sort(),
    });
  } finally {
    await cleanup();
  }
}

Deno.test("local push: a refusing pre-receive hook leaves the remote as it was (no refs, no objects)", async () => {
  await withHookedRemote(async ({ remote, hook, push, objects }) => {
    hook("pre-receive", 'echo "no pushes today" >&2\nexit 1');
    const before = objects();
    const results = await push();
    assert.deepEqual(results.map((r) => [r.ok, r.reason]), [
      [false, "pre-receive hook declined"],
      [false, "pre-receive hook declined"],
    ]);
    assert.equal(forEachRef(remote, "refs/exps").size, 0);
    assert.deepEqual(objects(), before, "the quarantined objects were dropped");
  });
});

Deno.test("local push: a hook installed after the session opened still runs (hooks are looked at when sending)", async () => {
  await withHookedRemote(async ({ remote, hook, push }) => {
    const results = await push(
      options.env,
      () => hook("pre-receive", 'echo "closed meanwhile" >&2\nexit 1'),
    );
    assert.deepEqual(results.map((r) => [r.ok, r.reason]), [
      [false, "pre-receive hook declined"],
      [false, "pre-receive hook declined"],
    ]);
    assert.equal(forEachRef(remote, "refs/exps").size, 0);
  });
});

Deno.test("local push: post-receive gets git's stdin, from a relative core.hooksPath", async () => {
  await withHookedRemote(async ({ dir, remote, exps, hook, push }) => {
    g(["config", "core.hooksPath", "../team-hooks"], remote);
    const log = join(dir, "post-receive.log");
    hook(
      "post-receive",
      `cat > '${log}'\necho "GIT_DIR=$GIT_DIR" >> '${log}'`,
      join(dir, "team-hooks"),
    );
    const results = await push();
    assert.ok(results.every((r) => r.ok), JSON.stringify(results));
    const lines = [...exps].map(([ref, sha]) => `${ZERO_OID} ${sha} ${ref}`);
    assert.equal(readFileSync(log, "utf8"), `${lines.join("\n")}\nGIT_DIR=.\n`);
    assert.deepEqual(
      new Map([...forEachRef(remote, "refs/exps")].sort()),
      new Map([...exps].sort()),
    );
  });
});

Deno.test("local push: a remote with hooks is refused, unchanged, when git is not installed", async () => {
  await withHookedRemote(async ({ remote, hook, push, objects }) => {
    hook("update", "exit 0");
    const before = objects();
    await assert.rejects(push({ PATH: "/nonexistent" }), (error: unknown) => {
      assert.ok(error instanceof GitRemoteError, String(error));
      assert.equal(
        error.message,
        `The Git remote '${remote}' has server hooks (update) that only git can run, ` +
          "and git is not installed here: install git, or push over ssh.",
      );
      return true;
    });
    assert.equal(forEachRef(remote, "refs/exps").size, 0);
    assert.deepEqual(objects(), before);
  });
});

Deno.test("dxp exp push to a local-path remote whose pre-receive hook refuses pushes no ref", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const origin = join(fx.root, "origin.git");
    const before = fx.git(["ls-remote", origin]);
    mkdirSync(join(origin, "hooks"), { recursive: true });
    writeFileSync(
      join(origin, "hooks", "pre-receive"),
      '#!/bin/sh\necho "experiments need a review" >&2\nexit 1\n',
    );
    chmodSync(join(origin, "hooks", "pre-receive"), 0o755);
    const pushed = fx.dxp(["exp", "push", "origin", "exp-a"]);
    assert.equal(pushed.code, 1, pushed.stdout);
    assert.match(
      pushed.stderr,
      /^Git remote 'origin' rejected experiment exp-a: pre-receive hook declined$/m,
    );
    // The data went up (a later push finds it there); no "No experiments to push." line.
    assert.match(pushed.stdout, /^\d+ files uploaded\n$/);
    assert.equal(fx.git(["ls-remote", origin]), before);
  } finally {
    await fx.cleanup();
  }
});
