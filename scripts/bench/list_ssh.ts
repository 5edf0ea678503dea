/**
 * `dxp exp list -A origin` over a private loopback sshd, side by side with
 * `git ls-remote <same url> 'refs/exps/*'` and a bare `ssh … true` (the cost
 * of one ssh handshake), on the basic fixture and on a project whose remote
 * holds 200 experiments. Runs are interleaved; RUNS (default 11) per figure.
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/list_ssh.ts
 */
import { join } from "node:path";
import process from "node:process";
import { startSshd } from "../../tests/helpers/sshd.ts";
import { extractFixture } from "../../tests/helpers/tmp.ts";
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
import { buildExpRepo } from "./exp_repo.ts";
import { makeSshCounter } from "./ssh_counter.ts";

const runs = runsFrom("RUNS", 11);
ensureBuilt();
const scratch = scratchDir("dxp-bench-list-");
const sshd = await startSshd();
try {
  const ssh = sshd.sshCommand.split(" ");
  // Host key into known_hosts before anything is timed.
  sh(ssh[0]!, [...ssh.slice(1), "-p", String(sshd.port), "127.0.0.1", "true"]);
  const counter = makeSshCounter(scratch.dir, sshd.sshCommand);

  const basic = extractFixture("basic", scratch.dir);
  const cases = [{
    label: "basic fixture",
    repo: join(basic, "repo"),
    bare: join(basic, "origin.git"),
  }];
  const big = buildExpRepo(join(scratch.dir, "big"), 200);
  cases.push({ label: "200 experiments", repo: big.repo, bare: big.bareAll });

  const dxpEnv: Record<string, string | undefined> = {
    ...process.env,
    DXP_SSH_COMMAND: sshd.sshCommand,
    NO_COLOR: "1",
  };
  delete dxpEnv["GIT_SSH_COMMAND"];
  const gitEnv = { ...process.env, GIT_SSH_COMMAND: sshd.sshCommand };
  const rows: string[][] = [];
  for (const c of cases) {
    const url = sshd.url(c.bare);
    try {
      sh("git", ["remote", "set-url", "origin", url], { cwd: c.repo });
    } catch {
      sh("git", ["remote", "add", "origin", url], { cwd: c.repo });
    }

    // Same answer first: dxp lists as many experiments as git sees refs.
    const listed = sh(DXP, ["exp", "list", "-A", "origin", "--json"], { cwd: c.repo, env: dxpEnv });
    const dxpShas = (JSON.parse(listed.stdout) as unknown[]).length;
    const gitRefs = sh("git", ["ls-remote", url, "refs/exps/*"], { cwd: c.repo, env: gitEnv })
      .stdout.split("\n").filter((l) => l !== "").length;
    if (dxpShas !== gitRefs) {
      throw new Error(`${c.label}: dxp lists ${dxpShas} experiments, git sees ${gitRefs} refs`);
    }
    counter.reset();
    sh(DXP, ["exp", "list", "-A", "origin"], {
      cwd: c.repo,
      env: { ...dxpEnv, DXP_SSH_COMMAND: counter.command, GIT_SSH_VARIANT: "ssh" },
    });
    const connections = counter.count();

    const t = { dxp: [] as number[], git: [] as number[], ssh: [] as number[] };
    for (let i = 0; i < runs; i++) {
      t.dxp.push(timeMs(DXP, ["exp", "list", "-A", "origin"], { cwd: c.repo, env: dxpEnv }));
      t.git.push(timeMs("git", ["ls-remote", url, "refs/exps/*"], { cwd: c.repo, env: gitEnv }));
      t.ssh.push(
        timeMs(ssh[0]!, [...ssh.slice(1), "-p", String(sshd.port), "127.0.0.1", "true"]),
      );
    }
    const d = median(t.dxp);
    const g = median(t.git);
    rows.push([
      `dxp exp list -A origin (${c.label}, ${gitRefs} refs)`,
      fmt(d),
      `${fmt(d / g, 2)}x`,
      String(connections),
    ]);
    rows.push([`git ls-remote <url> 'refs/exps/*' (${c.label})`, fmt(g), "1.00x", "1"]);
    rows.push([`ssh -p <port> 127.0.0.1 true (handshake only)`, fmt(median(t.ssh)), "", "1"]);
  }
  printTable(
    `exp list over loopback ssh, median of ${runs} interleaved runs; ${machineNote()}`,
    ["command", "ms", "vs git", "ssh conns"],
    rows,
  );
} finally {
  await sshd.stop();
  scratch.remove();
}
