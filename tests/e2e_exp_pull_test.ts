import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy, listFiles, sectionLines } from "./helpers/fixture_repo.ts";
import { readGolden, sortedLines } from "./helpers/golden.ts";

function cacheWithModes(clone: string): string[] {
  return listFiles(join(clone, ".dvc", "cache"), true);
}

Deno.test("dxp exp pull in a fresh clone fetches the ref and fills the cache exactly as DVC did (basic exp-b)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const golden = readGolden("basic", "exp-pull_exp-b_fresh-clone");
    const result = fx.dxp(["exp", "pull", "origin", "exp-b"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    // DVC warns about the push:false output here; we neither push nor expect it.
    assert.equal(result.stderr, "");
    assert.equal(
      fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], clone),
      golden.sections.get("after: git for-each-ref refs/exps"),
    );
    assert.deepEqual(
      cacheWithModes(clone),
      sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
    );
    // Byte-identical to the original cache.
    for (const line of cacheWithModes(clone)) {
      const rel = line.split(" ")[1]!;
      assert.deepEqual(
        readFileSync(join(clone, ".dvc", "cache", rel)),
        readFileSync(join(fx.repo, ".dvc", "cache", rel)),
      );
    }
    fx.git(["fsck", "--full"], clone);
    fx.git(
      ["log", "--oneline", "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b"],
      clone,
    );
    const again = fx.dxp(["exp", "pull", "origin", "exp-b"], clone);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, readGolden("basic", "exp-pull_exp-b_again").stdout);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull without names takes the remote experiments of HEAD's baseline", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const result = fx.dxp(["exp", "pull", "origin"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Pulled experiment typed-gulf from Git remote 'origin'.\n");
    const full = fx.dxp([
      "exp",
      "pull",
      "origin",
      "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b",
    ], clone);
    assert.equal(full.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    assert.equal(
      fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"], clone).split("\n").filter(
        Boolean,
      ).length,
      2,
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull fails with DVC's messages for names the remote lacks", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    for (
      const [name, golden] of [["does-not-exist", "exp-pull_does-not-exist"], [
        "exp-a",
        "exp-pull_exp-a_not-on-remote",
      ]]
    ) {
      const expected = readGolden("basic", golden!);
      const result = fx.dxp(["exp", "pull", "origin", name!], clone);
      assert.equal(result.code, expected.exitCode);
      assert.equal(result.stderr, expected.stderr);
    }
    assert.equal(fx.git(["for-each-ref", "refs/exps"], clone), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull leaves a diverged local experiment alone unless --force", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const B1 = "21f7f42d14aa43c823f2eb809f36b2453ef5d73b";
    const ref = `refs/exps/21/${B1.slice(2)}/exp-b`;
    const tree = fx.git(["rev-parse", `${B1}^{tree}`]).trim();
    const local = fx.git(["commit-tree", tree, "-p", B1, "-m", "local exp-b"]).trim();
    fx.git(["update-ref", ref, local]);
    const result = fx.dxp(["exp", "pull", "origin", "exp-b"]);
    // DVC exits 0 here (golden exp-pull_diverged); our exit-code table says 1,
    // as for a diverged exp push.
    assert.equal(readGolden("basic", "exp-pull_diverged").exitCode, 0);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "No experiments to pull.\n");
    assert.equal(
      result.stderr,
      "Local experiment exp-b has diverged from remote experiment with the same name. To override the local experiment re-run with '--force'.\n",
    );
    assert.equal(fx.git(["rev-parse", ref]).trim(), local);
    const forced = fx.dxp(["exp", "pull", "-f", "origin", "exp-b"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    assert.equal(fx.git(["rev-parse", ref]).trim(), "1f9cc1479cd534fb1c92727d455a9202197ef021");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull of the legacy fixture fills the legacy cache layout", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const clone = fx.freshClone();
    const golden = readGolden("legacy", "exp-pull_exp-x_fresh-clone");
    const result = fx.dxp(["exp", "pull", "origin", "exp-x"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Pulled experiment exp-x from Git remote 'origin'.\n");
    const key = [...golden.sections.keys()].find((k) => k.startsWith("after: files in .dvc/cache"));
    assert.ok(key);
    assert.deepEqual(cacheWithModes(clone), sortedLines(golden.sections.get(key!) ?? ""));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull --apply in a fresh clone leaves the work tree as DVC's exp apply does", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const golden = readGolden("basic", "exp-apply_exp-b_fresh-clone");
    const result = fx.dxp(["exp", "pull", "origin", "exp-b", "--apply"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      "Pulled experiment exp-b from Git remote 'origin'.\n" +
        "Changes for experiment 'exp-b' have been applied to your current workspace.\n",
    );
    assert.equal(
      fx.git(["status", "--short"], clone),
      golden.sections.get("after: git status --short"),
    );
    const many = fx.dxp(["exp", "pull", "origin", "--apply"], clone);
    assert.equal(many.code, 254);
    assert.equal(many.stderr, "ERROR: --apply needs exactly one experiment name or ref.\n");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull resolves the committed relative DVC-remote URL against .dvc/ (no config.local needed)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    rmSync(join(clone, ".dvc", "config.local"));
    const result = fx.dxp(["exp", "pull", "origin", "exp-b"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    const golden = readGolden("basic", "exp-pull_exp-b_fresh-clone");
    assert.deepEqual(
      cacheWithModes(clone),
      sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull --apply saves a changed output before replacing it, and says so as exp apply does", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    assert.equal(fx.dxp(["pull"], clone).code, 0);
    writeFileSync(join(clone, "model.bin"), "retrained here\n");
    const mine = createHash("md5").update("retrained here\n").digest("hex");
    const result = fx.dxp(["exp", "pull", "origin", "exp-b", "--apply"], clone);
    assert.equal(result.code, 0, result.stderr);
    // First line: the saved note (a fresh clone then warns about its push:false output).
    assert.equal(
      result.stderr.split("\n")[0],
      "Your changes to 'model.bin' were saved in the DVC cache and recorded in refs/exps/apply/stash; " +
        "to get them back: 'git stash apply refs/exps/apply/stash' on a clean work tree, then 'dxp checkout'.",
    );
    const saved = join(clone, ".dvc", "cache", "files", "md5", mine.slice(0, 2), mine.slice(2));
    assert.equal(readFileSync(saved, "utf8"), "retrained here\n");
    assert.equal(statSync(saved).mode & 0o777, 0o444);
  } finally {
    await fx.cleanup();
  }
});
