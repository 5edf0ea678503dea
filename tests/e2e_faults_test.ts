/**
 * The fault campaign (scripts/faults/) with a small N: every fault kind
 * breaks one command, the invariants hold, the rerun ends as a clean run.
 * The full campaign (N ≥ 100) runs by hand: scripts/faults/campaign.ts.
 * Plus the regressions the campaign found, reproduced on their own.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { formatTable, runCampaign } from "../scripts/faults/campaign.ts";
import { type FaultKind, FAULTS, mountTmpfs, unmount } from "../scripts/faults/inject.ts";
import { generateSample } from "../scripts/sample/generate.ts";
import { isRoot } from "./helpers/unprivileged.ts";
import { DXP_BIN, goldenEnv, run, scratch } from "./helpers/tmp.ts";

Deno.test({
  name: "fault campaign: one run of each fault kind breaks no invariant and every rerun completes",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const kinds = Object.keys(FAULTS) as FaultKind[];
    const result = await runCampaign({ runs: kinds.length * 2, seed: 14, kinds });
    const table = formatTable(result);
    const details = result.violations.map((v) =>
      `run ${v.run} ${v.kind} '${v.op}': ${v.violation.invariant}: ${v.violation.detail}`
    );
    assert.equal(result.violations.length, 0, `${table}\n${details.join("\n")}`);
    for (const row of result.rows) assert.equal(row.runs, 2, table);
  },
});

Deno.test({
  name:
    "a full disk while exp apply stashes the user's changes leaves no empty or partial Git object",
  ignore: !isRoot(),
  async fn() {
    const { dir, cleanup } = await scratch("dxp-enospc-");
    const mount = join(dir, "fs");
    mountTmpfs(mount, 64 << 20);
    try {
      const sample = await generateSample(join(mount, "s"), { files: 4, experiments: 1 });
      const env = goldenEnv(dir);
      // 96 kB that do not compress: the stash's blob of train.py needs ~24 pages.
      writeFileSync(join(sample.repo, "train.py"), randomBytes(96 << 10).toString("base64"));
      // Fill the file system but for a few pages: the lock file fits, the blob does not.
      const free = Number(
        execFileSync("df", ["-B1", "--output=avail", mount], { encoding: "utf8" }).trim().split(
          "\n",
        ).at(-1),
      );
      writeFileSync(join(mount, "filler"), new Uint8Array(Math.max(0, free - 8 * 4096)));
      const exp = sample.experiments.at(-1)!;
      const r = run(DXP_BIN, ["exp", "apply", exp.name], { cwd: sample.repo, env });
      assert.notEqual(r.code, 0, "the disk was full");
      assert.match(r.stderr, /^ERROR: .*(no space|ENOSPC)/im);
      const fsck = run("git", ["fsck", "--full", "--no-dangling"], { cwd: sample.repo, env });
      assert.equal(fsck.code, 0, `git fsck: ${fsck.stdout}${fsck.stderr}`);
      assert.doesNotMatch(fsck.stderr, /empty|corrupt|inflate/);
    } finally {
      unmount(mount);
      await cleanup();
    }
  },
});

Deno.test("a temp file a killed pull left beside a file output is gone after the next checkout", async () => {
  const { dir, cleanup } = await scratch("dxp-leftover-");
  try {
    const sample = await generateSample(join(dir, "s"), { files: 4, experiments: 1 });
    const env = goldenEnv(dir);
    // What a SIGKILL between writing data/raw.csv's temp file and renaming it leaves.
    const raw = join(sample.repo, "data", "raw.csv");
    const temp = join(sample.repo, "data", ".REpTJwaX4dEUF1IZnfdnZw.tmp");
    writeFileSync(temp, readFileSync(raw).subarray(0, 10));
    rmSync(raw);
    const r = run(DXP_BIN, ["checkout"], { cwd: sample.repo, env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(raw), "data/raw.csv is back");
    assert.equal(existsSync(temp), false, "the leftover temp file is removed");
    // Nothing is left for git status to show.
    assert.equal(run("git", ["status", "--porcelain"], { cwd: sample.repo, env }).stdout, "");
  } finally {
    await cleanup();
  }
});

if (!isRoot()) {
  console.error(`e2e_faults_test: needs root (tmpfs, nobody); uid ${process.getuid?.()}`);
}
