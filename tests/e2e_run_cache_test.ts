import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";

Deno.test("dxp exp push without --run-cache leaves the remote's runs/ alone", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const pushed = fx.dxp(["exp", "push", "origin", "exp-a"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.deepEqual(listFiles(join(fx.root, "dvcstore", "runs")), []);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push/pull --run-cache move every run-cache entry, counted in the upload", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const localRuns = listFiles(join(fx.repo, ".dvc", "cache", "runs"));
    assert.equal(localRuns.length, 6);
    const pushed = fx.dxp(["exp", "push", "--run-cache", "origin", "exp-a"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(
      pushed.stdout,
      "Pushed experiment exp-a to Git remote 'origin'.\n18 files uploaded\n",
    );
    assert.deepEqual(listFiles(join(fx.root, "dvcstore", "runs")), localRuns);
    const clone = fx.freshClone();
    const pulled = fx.dxp(["exp", "pull", "--run-cache", "origin", "exp-a"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.deepEqual(listFiles(join(clone, ".dvc", "cache", "runs")), localRuns);
  } finally {
    await fx.cleanup();
  }
});
