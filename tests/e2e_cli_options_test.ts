import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import { startDxp } from "./helpers/dxp_process.ts";
import { dxp, run } from "./helpers/tmp.ts";

// The basic fixture's experiments (tests/fixtures/README.md): HEAD is baseline 2.
const BASELINE_2 = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
const EXP_A_B2 = `refs/exps/c8/${BASELINE_2.slice(2)}/exp-a`;
const EXP_B = "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b";

/** Same blocks, same lines in each (DVC's order comes from Python sets). */
function blocks(text: string): string[] {
  return text.split(/\n(?=\S)/).map((b) => b.split("\n").filter(Boolean).sort().join("\n")).sort();
}

/** Local experiment refs (refs/exps/exec/* is internal). */
function localExps(fx: { git(args: string[]): string }): string[] {
  return fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"]).split("\n")
    .filter((ref) => ref !== "" && !ref.startsWith("refs/exps/exec/"));
}

/** Experiment refs on the fixture's Git remote. */
function remoteExps(fx: { root: string; git(args: string[]): string }): string[] {
  return fx.git(["ls-remote", join(fx.root, "origin.git"), "refs/exps/*"]).split("\n")
    .filter(Boolean).map((line) => line.split("\t")[1]!).sort();
}

const DEBUG_LINE = /^DEBUG: /m;

Deno.test("dxp takes -q, -v and --cd before the command words as well as after them", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const golden = readGolden("basic", "exp-list");
    const outside = fx.root; // not a DVC repository
    const env = fx.env;

    // --cd: the listing is the repository's, wherever dxp starts.
    const notHere = dxp(["exp", "list"], { cwd: outside, env });
    assert.equal(notHere.code, 253);
    for (
      const result of [
        dxp(["--cd", fx.repo, "exp", "list"], { cwd: outside, env }),
        dxp(["exp", "list", "--cd", fx.repo], { cwd: outside, env }),
        dxp(["--cd=repo", "exp", "list"], { cwd: outside, env }),
        dxp(["exp", "--cd", "repo", "ls"], { cwd: outside, env }),
      ]
    ) {
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(blocks(result.stdout), blocks(golden.stdout));
      assert.equal(result.stderr, "");
    }

    // -v: debug lines on stderr, and only with it; stdout unchanged.
    const plain = fx.dxp(["exp", "list"]);
    assert.doesNotMatch(plain.stderr, DEBUG_LINE);
    for (
      const verbose of [
        dxp(["-v", "--cd", fx.repo, "exp", "list"], { cwd: outside, env }),
        dxp(["exp", "list", "-v", "--cd", fx.repo], { cwd: outside, env }),
        dxp(["--verb", "exp", "list", "--cd", fx.repo], { cwd: outside, env }),
      ]
    ) {
      assert.equal(verbose.code, 0);
      assert.equal(verbose.stdout, plain.stdout);
      assert.match(verbose.stderr, DEBUG_LINE);
      // The debug line names where dxp runs: --cd took effect before the command.
      assert.ok(verbose.stderr.includes(`working directory '${fx.repo}'`), verbose.stderr);
    }

    // -q: nothing printed, exit code kept — for a success and for failures.
    assert.notEqual(plain.stdout, "");
    for (const args of [["-q", "exp", "list"], ["exp", "list", "-q"], ["--qu", "exp", "ls"]]) {
      assert.deepEqual(fx.dxp(args), { code: 0, stdout: "", stderr: "" }, args.join(" "));
    }
    assert.deepEqual(dxp(["-q", "exp", "list"], { cwd: outside, env }), {
      code: 253,
      stdout: "",
      stderr: "",
    });
    const unknownExp = fx.dxp(["exp", "push", "origin", "no-such-exp"]);
    assert.equal(unknownExp.code, 255);
    assert.match(unknownExp.stderr, /^ERROR: /);
    assert.deepEqual(fx.dxp(["-q", "exp", "push", "origin", "no-such-exp"]), {
      code: 255,
      stdout: "",
      stderr: "",
    });
    assert.deepEqual(fx.dxp(["-q", "exp", "lis"]), { code: 254, stdout: "", stderr: "" });
    // -q wins over -v, as DVC's quiet logger does.
    assert.deepEqual(fx.dxp(["-q", "-v", "exp", "list"]), { code: 0, stdout: "", stderr: "" });
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp accepts unambiguous prefixes of long options and refuses ambiguous ones (254)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // `--all` is `--all-commits`: every baseline's experiments, as the -A golden.
    const all = fx.dxp(["exp", "list", "--all"]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(blocks(all.stdout), blocks(readGolden("basic", "exp-list_A").stdout));
    assert.notDeepEqual(blocks(all.stdout), blocks(fx.dxp(["exp", "list"]).stdout));
    // `--name` is `--name-only` (its alias `--names-only` is the same option).
    assert.equal(fx.dxp(["exp", "list", "--name"]).stdout, "exp-a\ntyped-gulf\n");
    assert.equal(
      fx.dxp(["exp", "list", "--sha"]).stdout,
      fx.dxp(["exp", "list", "--sha-only"]).stdout,
    );
    // A prefix with its value after `=`.
    assert.deepEqual(
      blocks(fx.dxp(["exp", "list", "--re=HEAD~1"]).stdout),
      blocks(readGolden("basic", "exp-list_rev-B1").stdout),
    );

    // Ambiguous between DVC's own options: argparse's message, exit 254, nothing pushed.
    const before = remoteExps(fx);
    const ambiguous = fx.dxp(["exp", "push", "origin", "--r", "exp-a"]);
    assert.deepEqual(ambiguous, {
      code: 254,
      stdout: "",
      stderr: "ERROR: ambiguous option: --r could match --rev, --remote, --run-cache\n",
    });
    assert.deepEqual(remoteExps(fx), before);
    assert.equal(fx.dxp(["-q", "exp", "push", "origin", "--r", "exp-a"]).stderr, "");

    // `exp push origin --all-c` pushes every experiment (refs checked on the remote).
    assert.deepEqual(before, [EXP_B, `refs/exps/c8/${BASELINE_2.slice(2)}/typed-gulf`]);
    const pushAll = fx.dxp(["exp", "push", "origin", "--all-c"]);
    assert.equal(pushAll.code, 0, pushAll.stderr);
    assert.deepEqual(remoteExps(fx), localExps(fx).sort());
    assert.ok(remoteExps(fx).includes(EXP_A_B2));

    // `exp remove --all` removes every local experiment (DVC's docs spell it so).
    const everything = localExps(fx);
    assert.equal(everything.length, 4);
    const removeAll = fx.dxp(["exp", "remove", "--all"]);
    assert.equal(removeAll.code, 0, removeAll.stderr);
    assert.deepEqual(localExps(fx), []);

    // dxp's own options never make DVC's abbreviations ambiguous: `--a` is
    // --all-commits for `exp pull` (not --apply), `--all` for `exp push` (not --allow-missing).
    const pullAll = fx.dxp(["exp", "pull", "origin", "--a"]);
    assert.equal(pullAll.code, 0, pullAll.stderr);
    assert.deepEqual(localExps(fx), everything);
    const pushAgain = fx.dxp(["exp", "push", "origin", "--all"]);
    assert.equal(pushAgain.code, 0, pushAgain.stderr);
    // `exp remove -g origin --all` empties the Git remote.
    const removeRemote = fx.dxp(["exp", "remove", "-g", "origin", "--all"]);
    assert.equal(removeRemote.code, 0, removeRemote.stderr);
    assert.deepEqual(remoteExps(fx), []);
    assert.deepEqual(localExps(fx), everything);

    // The root's own options: `--vers` is --version, `--v` is ambiguous there.
    assert.match(fx.dxp(["--vers"]).stdout, /^\d+\.\d+\.\d+\n$/);
    assert.deepEqual(fx.dxp(["--v", "exp", "list"]), {
      code: 254,
      stdout: "",
      stderr: "ERROR: ambiguous option: --v could match --version, --verbose\n",
    });
    // Help at every level, also abbreviated.
    for (
      const args of [["--he"], ["exp", "--help"], ["exp", "list", "--he"], ["remote", "-h"], [
        "help",
        "exp",
      ]]
    ) {
      const help = fx.dxp(args);
      assert.equal(help.code, 0, args.join(" "));
      assert.match(help.stdout, /^Usage: dxp/);
    }
    // An unknown option is still commander's usage error.
    const unknown = fx.dxp(["exp", "list", "--bogus"]);
    assert.equal(unknown.code, 254);
    assert.match(unknown.stderr, /^ERROR: unknown option '--bogus'/);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("DXP_SHOW_TRACEBACK=1 adds the stack trace, and only then", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const plain = dxp(["exp", "list"], { cwd: fx.root, env: fx.env });
    assert.equal(plain.code, 253);
    assert.equal(
      plain.stderr,
      "ERROR: you are not inside of a DVC repository (checked up to mount point '/')\n",
    );
    const traced = dxp(["exp", "list"], {
      cwd: fx.root,
      env: { ...fx.env, DXP_SHOW_TRACEBACK: "1" },
    });
    assert.equal(traced.code, 253);
    assert.ok(traced.stderr.startsWith(plain.stderr), traced.stderr);
    assert.match(
      traced.stderr.slice(plain.stderr.length),
      /^\S+: you are not inside .*\n(\s+at .+\n)+$/,
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("--wait-for-lock waits for the repository lock to be released, then runs", async () => {
  const fx = await fixtureCopy("basic");
  // Another process holds DVC's lock: its pid is in .dvc/tmp/lock and it is alive.
  const holder = spawn("sleep", ["600"]);
  try {
    const lock = join(fx.repo, ".dvc", "tmp", "lock");
    mkdirSync(join(fx.repo, ".dvc", "tmp"), { recursive: true });
    writeFileSync(lock, ` ${holder.pid}\n`);
    assert.ok(localExps(fx).includes(EXP_B));

    // Without the flag: DVC's lock message at once, nothing removed.
    const busy = fx.dxp(["exp", "remove", "exp-b"]);
    assert.deepEqual(busy, {
      code: 255,
      stdout: "",
      stderr:
        "ERROR: Unable to acquire lock. Most likely another DVC process is running or was terminated abruptly. " +
        "Check the page <https://dvc.org/doc/user-guide/troubleshooting#lock-issue> for other possible reasons " +
        "and to learn how to resolve this.\n",
    });
    assert.ok(localExps(fx).includes(EXP_B));

    // With it (given before the command words): dxp says it waits, and waits.
    const waiting = startDxp(["--wait-for-lock", "-v", "exp", "remove", "exp-b"], {
      cwd: fx.repo,
      env: fx.env,
    });
    await waiting.stderrSeen(/DEBUG: waiting for the repository lock .* held by process \d+\n/);
    // It is blocked: the experiment is still there while the lock is held.
    assert.ok(localExps(fx).includes(EXP_B));
    rmSync(lock);
    const result = await waiting.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Removed experiments: 'exp-b'\n");
    assert.ok(!localExps(fx).includes(EXP_B));
    const waitedAt = result.stderr.indexOf("DEBUG: waiting for the repository lock");
    const acquiredAt = result.stderr.indexOf("DEBUG: acquired the repository lock");
    assert.ok(waitedAt !== -1 && acquiredAt > waitedAt, result.stderr);
    assert.ok(result.stderr.includes(`held by process ${holder.pid}`), result.stderr);
  } finally {
    holder.kill();
    await fx.cleanup();
  }
});

Deno.test("dxp completion bash is valid bash and defines the completion for dxp", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const script = fx.dxp(["completion", "bash"]);
    assert.equal(script.code, 0, script.stderr);
    const file = join(fx.root, "dxp.bash");
    writeFileSync(file, script.stdout);
    assert.deepEqual(run("bash", ["-n", file]), { code: 0, stdout: "", stderr: "" });
    const sourced = run("bash", ["-c", `source '${file}' && complete -p dxp`], { env: fx.env });
    assert.equal(sourced.code, 0, sourced.stderr);
    assert.match(sourced.stdout, /^complete .*-F \S+ dxp\n$/);
    // The function it installs asks `dxp complete -- <words>`: dxp answers.
    const fn = /-F (\S+) dxp/.exec(sourced.stdout)![1]!;
    const defined = run("bash", ["-c", `source '${file}' && type -t ${fn}`], { env: fx.env });
    assert.equal(defined.stdout, "function\n");
    assert.ok(script.stdout.includes('requestComp="dxp complete -- '), "the script asks dxp");
    const answer = fx.dxp(["complete", "--", "exp", "list", "--all"]);
    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /^--all-commits\t/m);
    assert.match(fx.dxp(["complete", "--", "ex"]).stdout, /^exp\b/m);
    for (const shell of ["zsh", "fish"]) {
      const text = fx.dxp(["completion", shell]);
      assert.equal(text.code, 0, shell);
      if (run("sh", ["-c", `command -v ${shell}`]).code !== 0) continue; // shell not installed
      const path = join(fx.root, `dxp.${shell}`);
      writeFileSync(path, text.stdout);
      assert.equal(run(shell, ["-n", path]).code, 0, shell);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a broken .dvc/config stops exp list, exp branch, exp remove and exp apply with 251, changing nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const configPath = join(fx.repo, ".dvc", "config");
    writeFileSync(configPath, `${Deno.readTextFileSync(configPath)}[core\n`);
    const refsBefore = fx.git(["for-each-ref"]);
    const statusBefore = fx.git(["status", "--porcelain"]);
    const commands = [
      ["exp", "list"],
      ["exp", "list", "origin"],
      ["exp", "branch", "exp-a", "from-exp-a"],
      ["exp", "remove", "exp-a"],
      ["exp", "apply", "exp-b"],
    ];
    for (const args of commands) {
      const result = fx.dxp(args);
      assert.equal(result.code, 251, `${args.join(" ")}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /^ERROR: configuration error - config file error: Invalid line \('\[core'\).* at line \d+\.\n$/,
      );
      assert.equal(result.stdout, "");
    }
    assert.equal(fx.git(["for-each-ref"]), refsBefore);
    assert.equal(fx.git(["status", "--porcelain"]), statusBefore);
  } finally {
    await fx.cleanup();
  }
});
