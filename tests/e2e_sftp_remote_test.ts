import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { startSshd } from "./helpers/sshd.ts";
import { dxp as runDxp } from "./helpers/tmp.ts";

/** The object list real DVC uploads for exp-a (baseline 2) into an empty remote. */
function goldenObjects(): string[] {
  const path = new URL("./fixtures/golden/basic/objects-exp-a-baseline2.txt", import.meta.url);
  return readFileSync(path, "utf8").split("\n").filter((line) =>
    line !== "" && !line.startsWith("#")
  );
}

Deno.test("dxp exp push/pull over an ssh:// DVC remote move exactly DVC's objects, 0444, byte-identical", async () => {
  const sshd = await startSshd();
  const fx = await fixtureCopy("basic");
  try {
    const store = join(fx.root, "sshstore");
    const remote = `['remote "store"']\n    url = ${sshd.url(store)}\n`;
    writeFileSync(join(fx.repo, ".dvc", "config.local"), remote);
    const env = { ...fx.env, DXP_SSH_COMMAND: sshd.sshCommand };
    const dxp = (args: string[], cwd: string) => runDxp(args, { cwd, env });

    const pushed = dxp(["exp", "push", "origin", "exp-a"], fx.repo);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(
      pushed.stdout,
      "Pushed experiment exp-a to Git remote 'origin'.\n23 files uploaded\n",
    );
    assert.equal(pushed.stderr, "");
    assert.deepEqual(listFiles(store), goldenObjects());
    for (const line of listFiles(store, true)) assert.match(line, /^444 /, line);
    for (const file of listFiles(store)) {
      assert.deepEqual(
        readFileSync(join(store, file)),
        readFileSync(join(fx.repo, ".dvc", "cache", file)),
        file,
      );
    }
    const again = dxp(["exp", "push", "origin", "exp-a"], fx.repo);
    assert.equal(again.stdout, "Experiment exp-a is up to date on Git remote 'origin'.\n");

    const clone = fx.freshClone();
    writeFileSync(join(clone, ".dvc", "config.local"), remote);
    const pulled = dxp(["exp", "pull", "origin", "exp-a"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout, "Pulled experiment exp-a from Git remote 'origin'.\n");
    const cache = listFiles(join(clone, ".dvc", "cache"));
    assert.deepEqual(cache, goldenObjects());
    for (const file of cache) {
      assert.deepEqual(
        readFileSync(join(clone, ".dvc", "cache", file)),
        readFileSync(join(fx.repo, ".dvc", "cache", file)),
        file,
      );
    }
    for (const line of listFiles(join(clone, ".dvc", "cache"), true)) {
      assert.match(line, /^444 /, line);
    }
  } finally {
    await fx.cleanup();
    await sshd.stop();
  }
});

Deno.test("dxp exp push to an ssh:// remote whose host refuses us fails with ssh's words and pushes no ref", async () => {
  const sshd = await startSshd();
  const fx = await fixtureCopy("basic");
  try {
    const store = join(fx.root, "sshstore");
    writeFileSync(
      join(fx.repo, ".dvc", "config.local"),
      `['remote "store"']\n    url = ssh://127.0.0.1:1${store}\n`,
    );
    const before = fx.git(["ls-remote", "../origin.git"]);
    const result = runDxp(["exp", "push", "origin", "exp-a"], {
      cwd: fx.repo,
      env: { ...fx.env, DXP_SSH_COMMAND: sshd.sshCommand },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Connection refused/);
    assert.equal(fx.git(["ls-remote", "../origin.git"]), before);
  } finally {
    await fx.cleanup();
    await sshd.stop();
  }
});
