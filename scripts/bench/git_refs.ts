/**
 * The Git half of `exp push` / `exp pull` over a private loopback sshd:
 * 1, 20 and 200 experiments (one small commit each on a baseline the remote
 * already has), `dxp exp push --no-cache origin -A` vs `git push <url>` of the
 * same `refs/exps/…:refs/exps/…` refspecs, and `dxp exp pull --no-cache <url> -A`
 * in a fresh clone vs `git fetch <url> 'refs/exps/*:refs/exps/*'`. The remote
 * (or the clone) is reset before every run, outside the timing. Also counts
 * the ssh connections each command opens. RUNS (default 5) interleaved runs.
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/git_refs.ts
 */
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { startSshd } from "../../tests/helpers/sshd.ts";
import {
  DXP,
  ensureBuilt,
  fmt,
  machineNote,
  median,
  printTable,
  runsFrom,
  scratchDir,
  sh,
  timeMs,
} from "./bench_kit.ts";
import { buildExpRepo, type ExpRepo } from "./exp_repo.ts";
import { makeSshCounter } from "./ssh_counter.ts";

const runs = runsFrom("RUNS", 5);
const sizes = (process.env["SIZES"] ?? "1,20,200").split(",").map(Number);
ensureBuilt();
const scratch = scratchDir("dxp-bench-refs-");
const sshd = await startSshd();
try {
  const ssh = sshd.sshCommand.split(" ");
  sh(ssh[0]!, [...ssh.slice(1), "-p", String(sshd.port), "127.0.0.1", "true"]);
  const counter = makeSshCounter(scratch.dir, sshd.sshCommand);
  const base = { ...process.env, NO_COLOR: "1" } as Record<string, string | undefined>;
  delete base["GIT_SSH_COMMAND"];
  delete base["DXP_SSH_COMMAND"];
  const dxpEnv = { ...base, DXP_SSH_COMMAND: sshd.sshCommand };
  const gitEnv = { ...base, GIT_SSH_COMMAND: sshd.sshCommand };
  const countEnv = { ...base, DXP_SSH_COMMAND: counter.command, GIT_SSH_VARIANT: "ssh" };

  const rows: string[][] = [];
  for (const n of sizes) {
    const dir = join(scratch.dir, `n${n}`);
    const project = buildExpRepo(dir, n);
    const remote = join(dir, "remote.git");
    const clone = join(dir, "clone");
    const pushUrl = sshd.url(remote);
    const pullUrl = sshd.url(project.bareAll);
    sh("git", ["remote", "add", "origin", pushUrl], { cwd: project.repo });
    const refspecs = project.refs.map((r) => `${r}:${r}`);

    const resetRemote = () => {
      rmSync(remote, { recursive: true, force: true });
      cpSync(project.bareMain, remote, { recursive: true });
    };
    const freshClone = () => {
      rmSync(clone, { recursive: true, force: true });
      sh("git", ["clone", "-q", project.bareMain, clone]);
    };
    const steps = {
      dxpPush: (env = dxpEnv) => {
        resetRemote();
        return timeMs(DXP, ["exp", "push", "--no-cache", "origin", "-A"], {
          cwd: project.repo,
          env,
        });
      },
      gitPush: () => {
        resetRemote();
        return timeMs("git", ["push", "-q", pushUrl, ...refspecs], {
          cwd: project.repo,
          env: gitEnv,
        });
      },
      dxpPull: (env = dxpEnv) => {
        freshClone();
        return timeMs(DXP, ["exp", "pull", "--no-cache", pullUrl, "-A"], { cwd: clone, env });
      },
      gitPull: () => {
        freshClone();
        return timeMs("git", ["fetch", "-q", pullUrl, "refs/exps/*:refs/exps/*"], {
          cwd: clone,
          env: gitEnv,
        });
      },
    };

    // Correctness and connection counts, once each, through the counting wrapper.
    counter.reset();
    steps.dxpPush(countEnv);
    const pushConns = counter.count();
    checkRefs(remote, project, "dxp exp push");
    counter.reset();
    steps.dxpPull(countEnv);
    const pullConns = counter.count();
    checkRefs(join(clone, ".git"), project, "dxp exp pull");

    const t = {
      dxpPush: [] as number[],
      gitPush: [] as number[],
      dxpPull: [] as number[],
      gitPull: [] as number[],
    };
    for (let i = 0; i < runs; i++) {
      t.dxpPush.push(steps.dxpPush());
      t.gitPush.push(steps.gitPush());
      t.dxpPull.push(steps.dxpPull());
      t.gitPull.push(steps.gitPull());
    }
    const [dp, gp, dl, gl] = [
      median(t.dxpPush),
      median(t.gitPush),
      median(t.dxpPull),
      median(t.gitPull),
    ];
    rows.push([
      `push ${n} exp: dxp exp push --no-cache origin -A`,
      fmt(dp),
      `${fmt(dp / gp, 2)}x`,
      String(pushConns),
    ]);
    rows.push([`push ${n} exp: git push <url> <${n} refspecs>`, fmt(gp), "1.00x", "1"]);
    rows.push([
      `pull ${n} exp: dxp exp pull --no-cache <url> -A`,
      fmt(dl),
      `${fmt(dl / gl, 2)}x`,
      String(pullConns),
    ]);
    rows.push([`pull ${n} exp: git fetch <url> 'refs/exps/*:refs/exps/*'`, fmt(gl), "1.00x", "1"]);
  }
  printTable(
    `experiment refs over loopback ssh, median of ${runs} interleaved runs (ms); ${machineNote()}`,
    ["command", "ms", "vs git", "ssh conns"],
    rows,
  );
} finally {
  await sshd.stop();
  scratch.remove();
}

/** The remote/clone must hold exactly the project's experiment refs at the same commits. */
function checkRefs(gitDir: string, project: ExpRepo, what: string): void {
  const want = sh("git", ["for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/"], {
    cwd: project.repo,
  }).stdout;
  const got = sh("git", [
    `--git-dir=${gitDir}`,
    "for-each-ref",
    "--format=%(refname) %(objectname)",
    "refs/exps/",
  ])
    .stdout;
  if (got !== want) {
    throw new Error(`${what}: refs differ from the project's:\n${got.slice(0, 500)}`);
  }
}
