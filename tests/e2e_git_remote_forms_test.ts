/**
 * Every form of Git remote the README promises, on the binary: a literal
 * path (absolute and relative), `file://`, `ssh://`, scp-like `host:path`
 * (private sshd), `https://` with `DXP_GIT_TOKEN` and with `git credential
 * fill`, the ssh program from `DXP_SSH_COMMAND` / `GIT_SSH_COMMAND` /
 * `core.sshCommand` (wrappers log each invocation, so we see which one ran),
 * and `url.<base>.insteadOf` / `pushInsteadOf` (DVC fails on those: the
 * `*insteadOf*` goldens of the remotes fixture exit 255; dxp rewrites the
 * URL as git does). Effects are checked on the remote with `git ls-remote`
 * and in the fresh clone with `git for-each-ref` and its cache.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import { startGitHttpServer } from "./helpers/http_git_server.ts";
import { type Sshd, startSshd } from "./helpers/sshd.ts";
import { DXP_BIN, run, runAsync, type RunResult } from "./helpers/tmp.ts";
import { expRefLines, normalizeExpText } from "./helpers/exp_goldens.ts";

const B3 = "c6d34a0a096dcc0e6afaa76344ef97315066a991";
const EXP_3 = `refs/exps/c6/${B3.slice(2)}/exp-3`;
const EXP_3_SHA = "d05afa88a4ab918def2d0c7578e784a9416bd109";

/** Runs dist/dxp without blocking (an https server may live in this process). */
function dxpAsync(fx: FixtureCopy, args: string[], cwd = fx.repo): Promise<RunResult> {
  return runAsync(DXP_BIN, args, { cwd, env: fx.env });
}

/** `git ls-remote <origin.git> refs/exps/*`, read directly from the bare repository. */
function originExps(fx: FixtureCopy, bare = join(fx.root, "origin.git")): string {
  return fx.git(["ls-remote", bare, "refs/exps/*"]);
}

/**
 * Push exp-3 → list → pull it in a fresh clone → remove it on the remote,
 * with the Git remote given as `remote` everywhere; each step checked on
 * origin.git itself.
 */
async function roundTrip(fx: FixtureCopy, remote: string) {
  const pushed = await dxpAsync(fx, ["exp", "push", remote, "exp-3"]);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.equal(
    pushed.stdout,
    `Pushed experiment exp-3 to Git remote '${remote}'.\n4 files uploaded\n`,
  );
  assert.equal(originExps(fx), `${EXP_3_SHA}\t${EXP_3}\n`);
  fx.git(["fsck", "--full"], join(fx.root, "origin.git"));

  const listed = await dxpAsync(fx, ["exp", "list", remote]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout, "main:\n\texp-3\n");

  const clone = fx.freshClone();
  const pulled = await dxpAsync(fx, ["exp", "pull", remote, "exp-3"], clone);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(pulled.stdout, `Pulled experiment exp-3 from Git remote '${remote}'.\n`);
  assert.equal(fx.git(["rev-parse", EXP_3], clone).trim(), EXP_3_SHA);
  fx.git(["fsck", "--full"], clone);
  const cached = listFiles(join(clone, ".dvc", "cache"));
  assert.equal(cached.length, 7, cached.join("\n"));
  for (const rel of cached) {
    assert.deepEqual(
      readFileSync(join(clone, ".dvc", "cache", rel)),
      readFileSync(join(fx.repo, ".dvc", "cache", rel)),
      rel,
    );
  }

  const removed = await dxpAsync(fx, ["exp", "remove", "-g", remote, "exp-3"]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, "Removed experiments: 'exp-3'\n");
  assert.equal(originExps(fx), "");
  assert.equal(fx.git(["rev-parse", EXP_3]).trim(), EXP_3_SHA, "local ref kept");
}

for (
  const [label, form] of [
    ["an absolute path", (fx: FixtureCopy) => join(fx.root, "origin.git")],
    ["a relative path", () => "../origin.git"],
    ["a file:// URL", (fx: FixtureCopy) => `file://${join(fx.root, "origin.git")}`],
  ] as const
) {
  Deno.test(`dxp exp push/list/pull/remove -g with the Git remote as ${label}`, async () => {
    const fx = await fixtureCopy("remotes");
    try {
      await roundTrip(fx, form(fx));
    } finally {
      await fx.cleanup();
    }
  });
}

/** An ssh config naming the private sshd `dxp-test-sshd`, and logging ssh wrappers. */
function sshSetup(sshd: Sshd, dir: string) {
  const user = run("id", ["-un"]).stdout.trim();
  const config = join(dir, "ssh_config");
  writeFileSync(
    config,
    [
      "Host dxp-test-sshd",
      "  HostName 127.0.0.1",
      `  Port ${sshd.port}`,
      `  User ${user}`,
      `  IdentityFile ${sshd.clientKey}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
      "  StrictHostKeyChecking no",
      "  BatchMode yes",
      "  LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const log = join(dir, "ssh.log");
  /** A program that logs `<tag> <args>` and runs ssh with our config. */
  const wrapper = (tag: string) => {
    const path = join(dir, `ssh-${tag}`);
    writeFileSync(path, `#!/bin/sh\necho "${tag} $*" >> '${log}'\nexec ssh -F '${config}' "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const calls = () => existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  return { config, wrapper, calls };
}

/** Runs `fn` on a fresh copy of the remotes fixture. */
async function withCopy(fn: (fx: FixtureCopy) => Promise<void>) {
  const fx = await fixtureCopy("remotes");
  try {
    await fn(fx);
  } finally {
    await fx.cleanup();
  }
}

Deno.test("dxp over ssh: host:path through GIT_SSH_COMMAND, ssh://alias/path through core.sshCommand, ssh://user@host:port", async () => {
  const sshd = await startSshd();
  try {
    // scp-like host:path; the program comes from GIT_SSH_COMMAND.
    await withCopy(async (fx) => {
      const ssh = sshSetup(sshd, fx.root);
      fx.env["GIT_SSH_COMMAND"] = ssh.wrapper("git-ssh-command");
      await roundTrip(fx, `dxp-test-sshd:${join(fx.root, "origin.git")}`);
      const calls = ssh.calls();
      for (const call of calls) {
        assert.match(
          call,
          /^git-ssh-command dxp-test-sshd git-(upload|receive)-pack '\/.*origin\.git'$/,
        );
      }
      // push, list, pull, remove -g: one ssh process each.
      assert.deepEqual(
        calls.map((c) => c.split(" ")[2]),
        ["git-receive-pack", "git-upload-pack", "git-upload-pack", "git-receive-pack"],
      );
    });

    // ssh://alias/path; the program comes from core.sshCommand (user config: repo and clone).
    await withCopy(async (fx) => {
      const ssh = sshSetup(sshd, fx.root);
      writeFileSync(
        join(fx.env["HOME"]!, ".gitconfig"),
        `[core]\n\tsshCommand = ${ssh.wrapper("core-sshcommand")}\n`,
      );
      await roundTrip(fx, `ssh://dxp-test-sshd${join(fx.root, "origin.git")}`);
      const calls = ssh.calls();
      assert.equal(calls.length, 4, calls.join("\n"));
      for (const call of calls) assert.match(call, /^core-sshcommand dxp-test-sshd git-/);

      // DXP_SSH_COMMAND wins over GIT_SSH_COMMAND, which wins over GIT_SSH and core.sshCommand.
      const remote = `dxp-test-sshd:${join(fx.root, "origin.git")}`;
      fx.env["GIT_SSH_COMMAND"] = ssh.wrapper("git-ssh-command");
      fx.env["DXP_SSH_COMMAND"] = ssh.wrapper("dxp-ssh-command");
      const first = await dxpAsync(fx, ["exp", "list", "-A", remote]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(ssh.calls().slice(4).map((c) => c.split(" ")[0]), ["dxp-ssh-command"]);
      delete fx.env["DXP_SSH_COMMAND"];
      const second = await dxpAsync(fx, ["exp", "list", "-A", remote]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(ssh.calls().slice(5).map((c) => c.split(" ")[0]), ["git-ssh-command"]);
      // GIT_SSH (a program, not a command line) comes after GIT_SSH_COMMAND, before core.sshCommand.
      delete fx.env["GIT_SSH_COMMAND"];
      fx.env["GIT_SSH"] = ssh.wrapper("git-ssh");
      const third = await dxpAsync(fx, ["exp", "list", "-A", remote]);
      assert.equal(third.code, 0, third.stderr);
      assert.deepEqual(ssh.calls().slice(6).map((c) => c.split(" ")[0]), ["git-ssh"]);
    });

    // ssh://user@127.0.0.1:port/path with a plain OpenSSH command line: the port goes with -p.
    await withCopy(async (fx) => {
      fx.env["GIT_SSH_COMMAND"] = sshd.sshCommand;
      await roundTrip(fx, sshd.url(join(fx.root, "origin.git")));
    });
  } finally {
    await sshd.stop();
  }
});

Deno.test("dxp over https: DXP_GIT_TOKEN is sent; without it the server's 401 is one error line and nothing moves", async () => {
  const token = "tok-e2e-123";
  const server = await startGitHttpServer({
    tls: true,
    projectRoot: "/",
    auth: { user: "x-access-token", password: token },
  });
  const fx = await fixtureCopy("remotes");
  try {
    fx.env["SSL_CERT_FILE"] = server.caFile!;
    const url = `${server.baseUrl}${join(fx.root, "origin.git")}`;
    const refused = await dxpAsync(fx, ["exp", "push", url, "exp-3"]);
    assert.equal(refused.code, 255);
    assert.equal(refused.stdout, "");
    assert.match(
      refused.stderr,
      /^ERROR: Authentication failed for: 'https:\/\/127\.0\.0\.1:\d+\//,
    );
    assert.equal(originExps(fx), "");
    assert.deepEqual(listFiles(join(fx.root, "store")).length, 11, "no data uploaded either");

    fx.env["DXP_GIT_TOKEN"] = token;
    const before = server.requests.length;
    await roundTrip(fx, url);
    const sent = server.requests.slice(before);
    assert.ok(sent.length >= 4);
    assert.ok(sent.every((r) => r.authorized), "every request carried the token");
    assert.doesNotMatch(refused.stderr, new RegExp(token));
  } finally {
    await fx.cleanup();
    await server.stop();
  }
});

Deno.test("dxp over https asks `git credential fill` after a 401 and uses the helper's answer", async () => {
  const auth = { user: "alice", password: "helper-secret" };
  const server = await startGitHttpServer({ tls: true, projectRoot: "/", auth });
  const fx = await fixtureCopy("remotes");
  try {
    fx.env["SSL_CERT_FILE"] = server.caFile!;
    const log = join(fx.root, "helper.log");
    // A credential helper in the user's git config, as `git config --global credential.helper`.
    writeFileSync(
      join(fx.env["HOME"]!, ".gitconfig"),
      [
        "[credential]",
        `\thelper = "!f() { echo \\"$1\\" >> '${log}'; test \\"$1\\" = get && echo username=${auth.user} && echo password=${auth.password}; }; f"`,
        "",
      ].join("\n"),
    );
    const url = `${server.baseUrl}${join(fx.root, "origin.git")}`;
    await roundTrip(fx, url);
    const asked = readFileSync(log, "utf8").split("\n").filter(Boolean);
    assert.ok(asked.includes("get"), asked.join(","));
    assert.ok(asked.includes("store"), "the working credentials are approved");
    assert.ok(server.requests.some((r) => r.authorized));
  } finally {
    await fx.cleanup();
    await server.stop();
  }
});

/** The goldens' setup: `url.<root>/origin.git.insteadOf fixture:` and a remote `rewritten`. */
function addRewritten(fx: FixtureCopy, repo: string) {
  fx.git(["config", `url.${join(fx.root, "origin.git")}.insteadOf`, "fixture:"], repo);
  fx.git(["remote", "add", "rewritten", "fixture:"], repo);
}

Deno.test("dxp follows url.<base>.insteadOf for push, list, pull and remove -g (remotes *insteadOf* goldens: DVC exits 255)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    addRewritten(fx, fx.repo);
    // DVC reads `fixture:` as an ssh host and fails; dxp goes where git goes.
    const push = readGolden("remotes", "exp-push_insteadOf_exp-3");
    assert.equal(push.exitCode, 255);
    const pushed = fx.dxp(["exp", "push", "rewritten", "exp-3"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(
      pushed.stdout,
      "Pushed experiment exp-3 to Git remote 'rewritten'.\n4 files uploaded\n",
    );
    assert.equal(fx.git(["ls-remote", "rewritten", "refs/exps/*"]), `${EXP_3_SHA}\t${EXP_3}\n`);
    assert.equal(originExps(fx), `${EXP_3_SHA}\t${EXP_3}\n`);
    assert.deepEqual(readdirSync(fx.root).sort(), [
      "origin.git",
      "other",
      "repo",
      "store",
      "third",
    ]);
    // Its data went to the DVC remotes: the same push through origin has nothing left to do.
    const same = fx.dxp(["exp", "push", "origin", "exp-3"]);
    assert.equal(same.stdout, "Experiment exp-3 is up to date on Git remote 'origin'.\n");

    for (
      const [name, argv, expected] of [
        ["exp-list_insteadOf", ["exp", "list", "rewritten"], "main:\n\texp-3\n"],
        ["exp-list_insteadOf_A", ["exp", "list", "rewritten", "-A"], "main:\n\texp-3\n"],
      ] as const
    ) {
      assert.equal(readGolden("remotes", name).exitCode, 255, name);
      const listed = fx.dxp([...argv]);
      assert.equal(listed.code, 0, `${name}: ${listed.stderr}`);
      assert.equal(listed.stdout, expected, name);
    }

    // After every experiment is pushed, the rewritten remote lists what origin lists.
    assert.equal(fx.dxp(["exp", "push", "origin", "-A"]).code, 0);
    const after = readGolden("remotes", "exp-list_insteadOf_after-push-A");
    assert.equal(after.exitCode, 255);
    const all = fx.dxp(["exp", "list", "rewritten", "-A"]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, fx.dxp(["exp", "list", "origin", "-A"]).stdout);
    assert.equal(all.stdout.split("\n").filter((l) => l.startsWith("\t")).length, 4);

    const remove = readGolden("remotes", "exp-remove_g_insteadOf_exp-3");
    assert.equal(remove.exitCode, 255);
    const removed = fx.dxp(["exp", "remove", "-g", "rewritten", "exp-3"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, "Removed experiments: 'exp-3'\n");
    // DVC left all four on origin; dxp removed exp-3 there.
    assert.equal(
      originExps(fx),
      remove.sections.get("after: git ls-remote origin 'refs/exps/*'")!.split("\n").filter((l) =>
        !l.endsWith("/exp-3")
      ).map((l) => (l === "" ? l : `${l}\n`)).join(""),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull through url.<base>.insteadOf in a fresh clone (remotes/exp-pull_insteadOf_exp-3_fresh-clone: DVC exits 255)", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    assert.equal(fx.dxp(["exp", "push", "origin", "-A"]).code, 0);
    const clone = fx.freshClone();
    addRewritten(fx, clone);
    const golden = readGolden("remotes", "exp-pull_insteadOf_exp-3_fresh-clone");
    assert.equal(golden.exitCode, 255);
    const result = fx.dxp(["exp", "pull", "rewritten", "exp-3"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(normalizeExpText(result.stdout), [
      "Pulled experiment [exp-3] from Git remote 'rewritten'.",
    ]);
    assert.equal(
      expRefLines(fx, clone),
      `${EXP_3_SHA} ${EXP_3}\n`,
    );
    assert.equal(listFiles(join(clone, ".dvc", "cache")).length, 7);
    fx.git(["fsck", "--full"], clone);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp pushes and removes through url.<base>.pushInsteadOf, lists and pulls through insteadOf", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    // Pushes go to a second bare repository, fetches come from origin.git.
    const mirror = join(fx.root, "mirror.git");
    fx.git(["init", "-q", "--bare", mirror], fx.root);
    const configure = (repo: string) => {
      fx.git(["config", `url.${join(fx.root, "origin.git")}.insteadOf`, "team:"], repo);
      fx.git(["config", `url.${mirror}.pushInsteadOf`, "team:"], repo);
      fx.git(["remote", "add", "team", "team:"], repo);
    };
    configure(fx.repo);
    const pushed = fx.dxp(["exp", "push", "team", "exp-3"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(fx.git(["ls-remote", mirror, "refs/exps/*"]), `${EXP_3_SHA}\t${EXP_3}\n`);
    assert.equal(originExps(fx), "");
    // git itself agrees on where a push and a fetch go.
    assert.match(fx.git(["remote", "-v"]), new RegExp(`team\\t${mirror} \\(push\\)`));

    // exp-4 is only on origin: listing and pulling read origin, not the mirror.
    assert.equal(fx.dxp(["exp", "push", "origin", "exp-4"]).code, 0);
    assert.equal(fx.dxp(["exp", "list", "team"]).stdout, "main:\n\texp-4\n");
    const clone = fx.freshClone();
    configure(clone);
    const pulled = fx.dxp(["exp", "pull", "team"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout, "Pulled experiment exp-4 from Git remote 'team'.\n");

    // remove -g is a push: it deletes on the mirror.
    const removed = fx.dxp(["exp", "remove", "-g", "team", "exp-3"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(fx.git(["ls-remote", mirror, "refs/exps/*"]), "");
    assert.match(originExps(fx), /\/exp-4\n$/);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp pushes and removes on remote.<name>.pushurl, lists and pulls from remote.<name>.url, as git does", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const mirror = join(fx.root, "mirror.git");
    fx.git(["init", "-q", "--bare", mirror], fx.root);
    // `git remote set-url --push`: fetch from origin.git, push to the mirror (named through
    // insteadOf, which git applies to a pushurl too; pushInsteadOf it does not).
    fx.git(["config", `url.${mirror}.insteadOf`, "mirror:"]);
    fx.git(["config", `url.${join(fx.root, "elsewhere.git")}.pushInsteadOf`, "mirror:"]);
    fx.git(["remote", "set-url", "--push", "origin", "mirror:"]);
    assert.match(fx.git(["remote", "-v"]), new RegExp(`origin\\t${mirror} \\(push\\)`));
    const pushed = fx.dxp(["exp", "push", "origin", "exp-3"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(fx.git(["ls-remote", mirror, "refs/exps/*"]), `${EXP_3_SHA}\t${EXP_3}\n`);
    assert.equal(originExps(fx), "");
    assert.equal(fx.dxp(["exp", "list", "origin"]).stdout, "");
    const removed = fx.dxp(["exp", "remove", "-g", "origin", "exp-3"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(fx.git(["ls-remote", mirror, "refs/exps/*"]), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("an unknown Git remote is named as typed, in DVC's words, and nothing moves", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const origin = join(fx.root, "origin.git");
    const before = fx.git(["ls-remote", origin]);
    const localBefore = fx.git(["for-each-ref"]);
    const storeBefore = listFiles(join(fx.root, "dvcstore"));
    for (
      const args of [
        ["exp", "push", "orgin", "exp-a"],
        ["exp", "pull", "orgin", "exp-b"],
        ["exp", "list", "orgin"],
        ["exp", "remove", "-g", "orgin", "exp-b"],
        ["exp", "list", "../nope.git"],
      ]
    ) {
      const result = fx.dxp(args);
      assert.equal(result.code, 255, args.join(" "));
      const typed = args[2] === "-g" ? args[3] : args[2];
      assert.equal(result.stderr, `ERROR: '${typed}' is not a valid Git remote or URL\n`);
      assert.equal(result.stdout, "");
    }
    assert.equal(fx.git(["ls-remote", origin]), before);
    assert.equal(fx.git(["for-each-ref"]), localBefore);
    assert.deepEqual(listFiles(join(fx.root, "dvcstore")), storeBefore);
    // A relative path resolves against the top of the work tree, as git does.
    const fromSubdir = fx.dxp(["exp", "list", "../origin.git"], join(fx.repo, "data"));
    assert.equal(fromSubdir.code, 0, fromSubdir.stderr);
    assert.match(fromSubdir.stdout, /typed-gulf/);
  } finally {
    await fx.cleanup();
  }
});
