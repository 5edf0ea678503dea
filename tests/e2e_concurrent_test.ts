/**
 * Several users of one remote at the same moment, on dist/dxp: two clones
 * pushing different experiments, two clones pushing the same experiment
 * name, a pull while a push writes the same objects to a local remote, and
 * two dxp processes in one repository (the repo lock).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { generateSample } from "../scripts/sample/generate.ts";
import type { SampleInfo } from "../scripts/sample/types.ts";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { startDxp } from "./helpers/dxp_process.ts";
import { objectsBetween, packOf, startMaliciousGitServer } from "./helpers/malicious_git_server.ts";
import { DXP_BIN, git, goldenEnv, run, runAsync, type RunResult, scratch } from "./helpers/tmp.ts";

const LOCK_MESSAGE =
  "ERROR: Unable to acquire lock. Most likely another DVC process is running or was terminated abruptly. " +
  "Check the page <https://dvc.org/doc/user-guide/troubleshooting#lock-issue> for other possible reasons " +
  "and to learn how to resolve this.\n";

function md5(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** Every object file under `dir` whose bytes do not hash to its name. */
function unsoundObjects(dir: string): string[] {
  return listFiles(dir).filter((rel) => {
    const m = /^files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/.exec(rel);
    if (m === null) return !existsSync(join(dir, rel)) ? false : !/\.tmp$|\.lock$/.test(rel);
    return md5(readFileSync(join(dir, rel))) !== m[1]! + m[2]!;
  });
}

/** A second work tree of the sample's repository beside it (same refs, cache and remotes). */
function secondClone(sample: SampleInfo): string {
  const other = join(sample.root, "repo2");
  cpSync(sample.repo, other, { recursive: true });
  return other;
}

function remoteRefs(sample: SampleInfo, env: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (
    const line of git(["ls-remote", sample.originGit, "refs/exps/*"], sample.root, env).split("\n")
  ) {
    if (line === "") continue;
    const [sha, ref] = line.split("\t");
    out.set(ref!, sha!);
  }
  return out;
}

/** One line `ERROR: …` at the end of stderr, no stack trace. */
function assertClearError(result: RunResult): void {
  assert.match(result.stderr, /(^|\n)ERROR: [^\n]+\n$/, result.stderr);
  assert.doesNotMatch(result.stderr, /\n\s+at /, result.stderr);
}

Deno.test("two clones push different experiments to one Git and DVC remote at once: both land whole", async () => {
  const { dir, cleanup } = await scratch("dxp-concurrent-");
  try {
    const env = goldenEnv(dir);
    const sample = await generateSample(join(dir, "s"), {
      files: 60,
      fileSize: 4096,
      experiments: 2,
    });
    const other = secondClone(sample);
    const [one, two] = sample.experiments.filter((e) => e.baseline === sample.baselines[1]!.sha);
    assert.ok(one && two && one.name !== two.name);
    const [a, b] = await Promise.all([
      runAsync(DXP_BIN, ["exp", "push", "origin", one.name], { cwd: sample.repo, env }),
      runAsync(DXP_BIN, ["exp", "push", "origin", two.name], { cwd: other, env }),
    ]);
    // Both succeed, or one reports a clear error and its rerun succeeds.
    for (const [result, cwd, name] of [[a, sample.repo, one.name], [b, other, two.name]] as const) {
      if (result.code === 0) continue;
      assertClearError(result);
      const rerun = run(DXP_BIN, ["exp", "push", "origin", name], { cwd, env });
      assert.equal(rerun.code, 0, rerun.stderr);
    }
    const refs = remoteRefs(sample, env);
    assert.equal(refs.get(one.ref), one.sha);
    assert.equal(refs.get(two.ref), two.sha);
    const stored = new Set(listFiles(sample.dvcStore));
    for (const key of [...one.objects, ...two.objects]) {
      assert.ok(stored.has(key), `${key} on the remote`);
    }
    assert.deepEqual(unsoundObjects(sample.dvcStore), []);
    assert.equal(run("git", ["fsck", "--no-dangling"], { cwd: sample.originGit, env }).code, 0);
  } finally {
    await cleanup();
  }
});

Deno.test("the same experiment name pushed from two clones at once: one wins, the other is told it diverged; -f replaces", async () => {
  const { dir, cleanup } = await scratch("dxp-concurrent-");
  try {
    const env = goldenEnv(dir);
    const sample = await generateSample(join(dir, "s"), { files: 20, experiments: 1 });
    const other = secondClone(sample);
    const exp = sample.experiments.at(-1)!;
    // In the second clone the experiment of that name is another commit (same tree, same baseline).
    const tree = git(["rev-parse", `${exp.sha}^{tree}`], other, env).trim();
    const theirs = git(
      ["commit-tree", tree, "-p", exp.baseline, "-m", "the other clone's run"],
      other,
      env,
    )
      .trim();
    git(["update-ref", exp.ref, theirs], other, env);
    const [a, b] = await Promise.all([
      runAsync(DXP_BIN, ["exp", "push", "origin", exp.name], { cwd: sample.repo, env }),
      runAsync(DXP_BIN, ["exp", "push", "origin", exp.name], { cwd: other, env }),
    ]);
    const winners = [a, b].filter((r) => r.code === 0);
    assert.equal(winners.length, 1, `a: ${a.code} ${a.stderr}\nb: ${b.code} ${b.stderr}`);
    const [winnerSha, loser, loserDir, loserSha] = a.code === 0
      ? [exp.sha, b, other, theirs]
      : [theirs, a, sample.repo, exp.sha];
    assert.equal(loser.code, 1, loser.stderr);
    const diverged =
      `Local experiment ${exp.name} has diverged from remote experiment with the same name.\n` +
      "To override the remote experiment re-run with '--force'.\n";
    // Whether it lost at the advertisement or at the receiving end's lock, the loser is told what
    // a rerun would say (tests/exp_push_race_test.ts makes the second case deterministic).
    assert.ok(loser.stderr.startsWith(diverged), loser.stderr);
    assert.equal(remoteRefs(sample, env).get(exp.ref), winnerSha, "nothing overwritten without -f");
    const again = run(DXP_BIN, ["exp", "push", "origin", exp.name], { cwd: loserDir, env });
    assert.equal(again.code, 1);
    assert.ok(again.stderr.startsWith(diverged), again.stderr);
    assert.equal(remoteRefs(sample, env).get(exp.ref), winnerSha, "nothing overwritten without -f");
    const forced = run(DXP_BIN, ["exp", "push", "origin", exp.name, "-f"], { cwd: loserDir, env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(remoteRefs(sample, env).get(exp.ref), loserSha);
  } finally {
    await cleanup();
  }
});

Deno.test("a pull while a push writes the same objects to a local remote never reads a partial object", async () => {
  const { dir, cleanup } = await scratch("dxp-concurrent-");
  try {
    const env = goldenEnv(dir);
    const sample = await generateSample(join(dir, "s"), {
      files: 40,
      fileSize: 64 << 10,
      bigFile: 8 << 20,
      experiments: 1,
    });
    const clone = join(dir, "clone");
    git(["clone", "-q", sample.originGit, clone], dir, env);
    writeFileSync(
      join(clone, ".dvc", "config.local"),
      `['remote "store"']\n    url = ${sample.dvcStore}\n`,
    );
    const known = new Set(
      listFiles(sample.cacheDir).map((rel) => rel.replaceAll("/", "").slice("filesmd5".length)),
    );
    for (let round = 0; round < 3; round++) {
      rmSync(sample.dvcStore, { recursive: true, force: true });
      mkdirSync(sample.dvcStore);
      rmSync(join(clone, ".dvc", "cache"), { recursive: true, force: true });
      rmSync(join(clone, "data_out"), { recursive: true, force: true });
      rmSync(join(clone, "model.bin"), { force: true });
      const [push, pull] = await Promise.all([
        runAsync(DXP_BIN, ["push"], { cwd: sample.repo, env }),
        runAsync(DXP_BIN, ["pull"], { cwd: clone, env }),
      ]);
      assert.equal(push.code, 0, push.stderr);
      // The pull may find objects missing (exit 1), never a partial one.
      assert.ok(pull.code === 0 || pull.code === 1, `${pull.code}: ${pull.stderr}`);
      assert.deepEqual(unsoundObjects(join(clone, ".dvc", "cache")), [], `round ${round}`);
      assert.deepEqual(unsoundObjects(sample.dvcStore), [], `round ${round}`);
      const outputs = [
        ...listFiles(join(clone, "data_out")).map((rel) => join(clone, "data_out", rel)),
        ...(existsSync(join(clone, "model.bin")) ? [join(clone, "model.bin")] : []),
      ];
      for (const path of outputs) {
        assert.ok(known.has(md5(readFileSync(path))), `${path} is a whole version of an object`);
      }
      // Once the push is over, a rerun of the pull completes.
      const rerun = run(DXP_BIN, ["pull"], { cwd: clone, env });
      assert.equal(rerun.code, 0, rerun.stderr);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("two dxp processes in one repository serialise on the repo lock with DVC's message", async () => {
  const fx = await fixtureCopy("basic");
  const server = await startMaliciousGitServer();
  try {
    // The first dxp pulls from a server that stalls mid-pack: it holds the repository lock meanwhile.
    const baseline = fx.git(["rev-parse", "HEAD"]).trim();
    const tip = fx.git(["commit-tree", `${baseline}^{tree}`, "-p", baseline, "-m", "remote run"])
      .trim();
    const ref = `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/exp-remote`;
    server.refs = [[ref, tip]];
    server.pack = packOf(await objectsBetween(fx.repo, [tip], [baseline]));
    // Only the server has it: the local copy of the commit goes.
    rmSync(join(fx.repo, ".git", "objects", tip.slice(0, 2), tip.slice(2)));
    server.stallAfter = 20;
    const first = startDxp(["exp", "pull", server.url, "exp-remote"], {
      cwd: fx.repo,
      env: fx.env,
    });
    await Promise.race([
      server.stalled,
      first.done.then((r) => {
        throw new Error(`the first dxp ended before the stall: ${r.code} ${r.stderr}`);
      }),
    ]);
    assert.ok(existsSync(join(fx.repo, ".dvc", "tmp", "lock")), "the first dxp holds the lock");
    const exps = () => fx.git(["for-each-ref", "--format=%(refname)", "refs/exps/"]);
    const before = exps();
    assert.match(before, /\/exp-b\n/);

    // A second dxp: DVC's message at once, nothing removed.
    const busy = run(DXP_BIN, ["exp", "remove", "exp-b"], { cwd: fx.repo, env: fx.env });
    assert.deepEqual(busy, { code: 255, stdout: "", stderr: LOCK_MESSAGE });
    assert.equal(exps(), before);

    // With --wait-for-lock it waits for the first, then runs.
    const waiting = startDxp(["--wait-for-lock", "-v", "exp", "remove", "exp-b"], {
      cwd: fx.repo,
      env: fx.env,
    });
    await waiting.stderrSeen(/DEBUG: waiting for the repository lock .* held by process \d+\n/);
    assert.equal(exps(), before, "still waiting while the first holds the lock");
    first.child.kill("SIGINT");
    const firstDone = await first.done;
    // (Node reports no exit code for a child it sent a signal to; the message says what happened.)
    assert.equal(firstDone.stderr, "ERROR: interrupted by the user\n");
    const second = await waiting.done;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, "Removed experiments: 'exp-b'\n");
    assert.doesNotMatch(exps(), /\/exp-b\n/);
    assert.doesNotMatch(exps(), /exp-remote/, "the interrupted pull left no ref");
  } finally {
    await server.stop();
    await fx.cleanup();
  }
});

Deno.test("a lock file not yet holding its owner's pid is held; one left so for long is taken over", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // Another process has just created the lock file and not yet written its pid into it.
    const lock = join(fx.repo, ".dvc", "tmp", "lock");
    mkdirSync(join(fx.repo, ".dvc", "tmp"), { recursive: true });
    writeFileSync(lock, "");
    const busy = run(DXP_BIN, ["exp", "remove", "exp-b"], { cwd: fx.repo, env: fx.env });
    assert.deepEqual(busy, { code: 255, stdout: "", stderr: LOCK_MESSAGE });
    assert.equal(readFileSync(lock, "utf8"), "", "the other process's lock is left alone");

    // An empty lock a minute old was abandoned (its process died before writing its pid).
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lock, minuteAgo, minuteAgo);
    const taken = run(DXP_BIN, ["exp", "remove", "exp-b"], { cwd: fx.repo, env: fx.env });
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(taken.stdout, "Removed experiments: 'exp-b'\n");
    assert.equal(existsSync(lock), false, "released");
    assert.deepEqual(
      listFiles(join(fx.repo, ".dvc", "tmp")).filter((f) => f.startsWith("lock")),
      [],
    );
  } finally {
    await fx.cleanup();
  }
});
