/**
 * dist/dxp in shallow (`git clone --depth 1`) and blobless partial
 * (`--filter=blob:none`) clones of the basic fixture, over a local path,
 * ssh (protocol v2 and v0) and https: exp pull / apply / show / list / push
 * must give what they give in a complete clone, leave `git fsck` clean and
 * `.git/shallow` as real `git fetch` would, and never leave a ref behind
 * after a failure.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type FixtureCopy,
  fixtureCopy,
  freshCloneConfigLocal,
  listFiles,
  workspaceFiles,
} from "./helpers/fixture_repo.ts";
import { commitExp } from "./helpers/git_repo.ts";
import { startGitHttpServer } from "./helpers/http_git_server.ts";
import { startSshd } from "./helpers/sshd.ts";
import { DXP_BIN, runAsync, type RunResult } from "./helpers/tmp.ts";

const B1 = "21f7f42d14aa43c823f2eb809f36b2453ef5d73b";
const B2 = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
const EXP_B = "1f9cc1479cd534fb1c92727d455a9202197ef021";
const TYPED_GULF = "3f95182bd54ad6bd37a339e6c1e32c627a772fe5";
const EXP_B_REF = `refs/exps/21/${B1.slice(2)}/exp-b`;
const TYPED_GULF_REF = `refs/exps/c8/${B2.slice(2)}/typed-gulf`;

/** A way to reach the fixture's origin.git: its URL form and the environment git and dxp need. */
interface GitServer {
  readonly name: string;
  url(path: string): string;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

const servers: Record<string, () => Promise<GitServer>> = {
  "file://": () =>
    Promise.resolve({
      name: "file://",
      url: (path) => `file://${path}`,
      env: {},
      stop: () => Promise.resolve(),
    }),
  "ssh v2": () => sshServer(true),
  "ssh v0": () => sshServer(false),
  "https": async () => {
    const server = await startGitHttpServer({ tls: true, projectRoot: "/" });
    return {
      name: "https",
      url: (path) => `${server.baseUrl}${path}`,
      env: { SSL_CERT_FILE: server.caFile!, GIT_SSL_CAINFO: server.caFile! },
      stop: () => server.stop(),
    };
  },
};

async function sshServer(acceptEnv: boolean): Promise<GitServer> {
  const sshd = await startSshd({ acceptEnv });
  return {
    name: acceptEnv ? "ssh v2" : "ssh v0",
    url: (path) => sshd.url(path),
    env: { DXP_SSH_COMMAND: sshd.sshCommand, GIT_SSH_COMMAND: sshd.sshCommand },
    stop: () => sshd.stop(),
  };
}

interface World {
  fx: FixtureCopy;
  origin: string;
  url: string;
  /** Runs dist/dxp (asynchronously: the https server lives in this process). */
  dxp(args: string[], cwd: string): Promise<RunResult>;
  /** Runs git, failing the test on a non-zero exit. */
  git(args: string[], cwd: string): Promise<string>;
  /** `git clone <args> <url> <root>/<name>` with the fixture's config.local. */
  clone(name: string, args: string[]): Promise<string>;
  /** A complete clone (local path), the reference every answer is compared with. */
  full: string;
}

async function withWorld(server: GitServer, fn: (w: World) => Promise<void>): Promise<void> {
  const fx = await fixtureCopy("basic");
  try {
    Object.assign(fx.env, server.env);
    const origin = join(fx.root, "origin.git");
    const url = server.url(origin);
    const env = { ...process.env, ...fx.env };
    const w: World = {
      fx,
      origin,
      url,
      dxp: (args, cwd) => runAsync(DXP_BIN, args, { cwd, env: fx.env }),
      async git(args, cwd) {
        const r = await runAsync("git", args, { cwd, env });
        assert.equal(r.code, 0, `git ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      },
      async clone(name, args) {
        const path = join(fx.root, name);
        await w.git(["clone", "-q", ...args, url, path], fx.root);
        writeFileSync(join(path, ".dvc", "config.local"), freshCloneConfigLocal("basic"));
        return path;
      },
      full: fx.freshClone(),
    };
    await fn(w);
  } finally {
    await fx.cleanup();
  }
}

function fsckClean(w: World, repo: string): void {
  const r = w.fx.git(["fsck", "--full", "--no-dangling", "--no-progress"], repo);
  assert.equal(r, "", `git fsck in ${repo}`);
}

function shallowFile(repo: string): string {
  const path = join(repo, ".git", "shallow");
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

function refs(w: World, repo: string, prefix = "refs/exps"): string {
  return w.fx.git(["for-each-ref", "--format=%(objectname) %(refname)", prefix], repo);
}

/** Runs the same dxp command in `repo` and in the complete clone; both must succeed alike. */
async function sameAsFull(w: World, repo: string, args: string[]): Promise<RunResult> {
  const ours = await w.dxp(args, repo);
  const full = await w.dxp(args, w.full);
  assert.equal(ours.code, 0, `dxp ${args.join(" ")}: ${ours.stderr}`);
  assert.deepEqual(
    [ours.code, ours.stdout, ours.stderr],
    [full.code, full.stdout, full.stderr],
    `dxp ${args.join(" ")}`,
  );
  return ours;
}

for (const [label, start] of Object.entries(servers)) {
  Deno.test(`shallow clone over ${label}: exp pull of an experiment whose baseline is outside the history, then apply, show, list as in a complete clone`, async () => {
    const server = await start();
    try {
      await withWorld(server, async (w) => {
        const shallow = await w.clone("shallow", ["--depth", "1"]);
        const twin = await w.clone("twin", ["--depth", "1"]);
        assert.equal(shallowFile(shallow), `${B2}\n`);

        await sameAsFull(w, shallow, ["exp", "pull", "origin", "exp-b"]);
        assert.equal(refs(w, shallow), `${EXP_B} ${EXP_B_REF}\n`);
        fsckClean(w, shallow);
        // What git itself records for the same request: the experiment and its baseline, no deeper.
        await w.git(["fetch", "-q", "--depth", "2", "origin", `${EXP_B_REF}:${EXP_B_REF}`], twin);
        assert.equal(shallowFile(shallow), shallowFile(twin));
        assert.equal(shallowFile(shallow), `${B1}\n${B2}\n`);
        assert.deepEqual(listFiles(join(shallow, ".dvc", "cache")), [
          ...listFiles(join(w.full, ".dvc", "cache")),
        ]);

        // The baseline is here: no deepen, the shallow boundary stays.
        await sameAsFull(w, shallow, ["exp", "pull", "origin", "typed-gulf"]);
        await w.git(["fetch", "-q", "origin", `${TYPED_GULF_REF}:${TYPED_GULF_REF}`], twin);
        assert.equal(shallowFile(shallow), shallowFile(twin));
        assert.equal(
          refs(w, shallow),
          `${EXP_B} ${EXP_B_REF}\n${TYPED_GULF} ${TYPED_GULF_REF}\n`,
        );
        fsckClean(w, shallow);

        await sameAsFull(w, shallow, ["exp", "list", "-A"]);
        await sameAsFull(w, shallow, ["exp", "show", "-A"]);
        await sameAsFull(w, shallow, ["exp", "show", "--rev", B1]);
        // History stops at the shallow boundary instead of failing.
        for (const args of [["exp", "show", "-n", "3"], ["exp", "list", "-n", "2"]]) {
          const r = await w.dxp(args, shallow);
          assert.equal(r.code, 0, `dxp ${args.join(" ")}: ${r.stderr}`);
        }

        await sameAsFull(w, shallow, ["exp", "apply", "exp-b"]);
        assert.deepEqual(workspaceFiles(shallow), workspaceFiles(w.full));
        assert.equal(
          refs(w, shallow, "refs/exps/apply"),
          refs(w, w.full, "refs/exps/apply"),
        );
        fsckClean(w, shallow);
      });
    } finally {
      await server.stop();
    }
  });

  Deno.test(`blobless partial clone over ${label}: exp pull, show -A, apply and push fetch the left-out objects from the promisor`, async () => {
    const server = await start();
    try {
      await withWorld(server, async (w) => {
        w.fx.git(["config", "uploadpack.allowFilter", "true"], w.origin);
        // Lazy fetches ask for objects by id: v2 always allows it, v0 with this setting.
        w.fx.git(["config", "uploadpack.allowAnySHA1InWant", "true"], w.origin);
        const partial = await w.clone("partial", ["--filter=blob:none"]);
        const missingBefore = w.fx.git(["rev-list", "--objects", "--missing=print", B1], partial);
        assert.match(missingBefore, /^\?/m, "baseline 1's blobs are left on the server");

        await sameAsFull(w, partial, ["exp", "pull", "origin", "exp-b"]);
        assert.equal(refs(w, partial), `${EXP_B} ${EXP_B_REF}\n`);
        fsckClean(w, partial);
        // Reads baseline 1's params and metrics, which this clone did not have.
        await sameAsFull(w, partial, ["exp", "show", "-A"]);
        await sameAsFull(w, partial, ["exp", "list", "-A"]);

        // An experiment made in the partial clone goes to the remote with only its new objects.
        const fetched = await w.dxp(["fetch"], partial);
        assert.equal(fetched.code, 0, fetched.stderr);
        const exp = commitExp(partial, B2, "from-ci", { "params.yaml": "lr: 0.7\nepochs: 3\n" });
        const pushed = await w.dxp(["exp", "push", "origin", "from-ci"], partial);
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.equal(refs(w, w.origin, `refs/exps/c8/${B2.slice(2)}/from-ci`).split(" ")[0], exp);
        fsckClean(w, w.origin);

        await sameAsFull(w, partial, ["exp", "apply", "exp-b"]);
        assert.deepEqual(workspaceFiles(partial), workspaceFiles(w.full));
        fsckClean(w, partial);
      });
    } finally {
      await server.stop();
    }
  });
}

Deno.test("shallow clone: exp push of a new experiment works; a commit at the clone's edge the remote lacks is refused before any ref moves", async () => {
  const server = await servers["file://"]!();
  try {
    await withWorld(server, async (w) => {
      const shallow = await w.clone("shallow", ["--depth", "1"]);
      const fetched = await w.dxp(["fetch"], shallow);
      assert.equal(fetched.code, 0, fetched.stderr);
      const exp = commitExp(shallow, B2, "from-ci", { "params.yaml": "lr: 0.7\nepochs: 3\n" });
      const pushed = await w.dxp(["exp", "push", "origin", "from-ci"], shallow);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(pushed.stdout, "Pushed experiment from-ci to Git remote 'origin'.\n");
      assert.equal(refs(w, w.origin, `refs/exps/c8/${B2.slice(2)}/from-ci`).split(" ")[0], exp);
      fsckClean(w, w.origin);

      // exp-b's history ends at baseline 1 (a root): the whole of it can go to an empty remote.
      const empty = join(w.fx.root, "empty.git");
      w.fx.git(["init", "-q", "--bare", empty], w.fx.root);
      assert.equal((await w.dxp(["exp", "pull", "origin", "exp-b"], shallow)).code, 0);
      const whole = await w.dxp(["exp", "push", empty, "exp-b"], shallow);
      assert.equal(whole.code, 0, whole.stderr);
      assert.equal(refs(w, empty), `${EXP_B} ${EXP_B_REF}\n`);
      fsckClean(w, empty);

      // from-ci sits on baseline 2, whose parent this clone does not have: refused before
      // any upload (the DVC remote is pointed at an empty folder to see that).
      writeFileSync(
        join(shallow, ".dvc", "config.local"),
        "['remote \"store\"']\n    url = ../../emptystore\n",
      );
      const refused = await w.dxp(["exp", "push", empty, "from-ci"], shallow);
      assert.equal(refused.code, 255);
      assert.match(
        refused.stderr,
        /^ERROR: Cannot push commit 'c8eada1' without its history: this is a shallow clone/m,
      );
      assert.doesNotMatch(refused.stderr, /\n\s+at /);
      assert.equal(refs(w, empty), `${EXP_B} ${EXP_B_REF}\n`, "no ref was pushed");
      assert.deepEqual(listFiles(join(w.fx.root, "emptystore")), [], "no data was uploaded");
      fsckClean(w, empty);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("shallow clone over ssh: a connection cut before or inside the pack leaves no ref, no .git/shallow change, a one-line error", async () => {
  const sshd = await startSshd({ acceptEnv: true });
  try {
    const server: GitServer = {
      name: "ssh",
      url: (path) => sshd.url(path),
      env: { GIT_SSH_COMMAND: sshd.sshCommand },
      stop: () => Promise.resolve(),
    };
    await withWorld(server, async (w) => {
      // The connection carries the advertisement, then the pack: record it in a twin clone.
      const probe = await w.clone("probe", ["--depth", "1"]);
      const tee = join(w.fx.root, "ssh-tee");
      const recorded = join(w.fx.root, "bytes");
      writeFileSync(tee, `#!/bin/sh\n${sshd.sshCommand} "$@" | tee '${recorded}'\n`);
      chmodSync(tee, 0o755);
      w.fx.env["DXP_SSH_COMMAND"] = tee;
      w.fx.env["GIT_SSH_VARIANT"] = "ssh";
      const measured = await w.dxp(["exp", "pull", "--no-cache", "origin", "exp-b"], probe);
      assert.equal(measured.code, 0, measured.stderr);
      const bytes = readFileSync(recorded);
      const header = bytes.indexOf("000dpackfile\n");
      assert.ok(header > 0, "protocol v2 names the pack section");
      const cuts = { "before the pack": header + 13, "inside the pack": bytes.length - 400 };
      assert.ok(cuts["before the pack"] < cuts["inside the pack"]);

      for (const [where, at] of Object.entries(cuts)) {
        const shallow = await w.clone(`shallow-${at}`, ["--depth", "1"]);
        const cut = join(w.fx.root, `ssh-cut-${at}`);
        // After `at` bytes the connection dies: ssh is killed and our input closes.
        writeFileSync(
          cut,
          [
            "#!/bin/sh",
            `fifo='${join(w.fx.root, `cut-${at}.fifo`)}'`,
            'mkfifo "$fifo"',
            "exec 3<&0",
            `${sshd.sshCommand} "$@" <&3 >"$fifo" &`,
            `dd bs=1 count=${at} status=none <"$fifo"`,
            "kill $!",
            "",
          ].join("\n"),
        );
        chmodSync(cut, 0o755);
        w.fx.env["DXP_SSH_COMMAND"] = cut;
        const r = await w.dxp(["exp", "pull", "origin", "exp-b"], shallow);
        assert.equal(r.code, 255, `${where}: ${r.stderr}`);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^ERROR: .*(closed the connection|truncated)/, where);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
        assert.equal(refs(w, shallow), "", where);
        assert.equal(shallowFile(shallow), `${B2}\n`);
        assert.ok(!existsSync(join(shallow, ".git", "shallow.lock")));
        fsckClean(w, shallow);
      }
    });
  } finally {
    await sshd.stop();
  }
});

Deno.test("exp apply of an experiment commit whose objects are missing fails in one line and writes no ref", async () => {
  const server = await servers["file://"]!();
  try {
    await withWorld(server, async (w) => {
      const shallow = await w.clone("shallow", ["--depth", "1"]);
      // What a fetch without the shallow protocol leaves: the commit and its root tree only.
      const tree = w.fx.git(["rev-parse", `${EXP_B}^{tree}`], w.origin).trim();
      const packed = await runAsync("sh", [
        "-c",
        `printf '%s\\n%s\\n' ${EXP_B} ${tree} | git -C '${w.origin}' pack-objects --stdout | git index-pack --stdin`,
      ], { cwd: shallow, env: { ...process.env, ...w.fx.env } });
      assert.equal(packed.code, 0, packed.stderr);
      w.fx.git(["update-ref", EXP_B_REF, EXP_B], shallow);
      const before = workspaceFiles(shallow);

      const r = await w.dxp(["exp", "apply", "exp-b"], shallow);
      assert.equal(r.code, 255);
      assert.match(
        r.stderr,
        /^ERROR: Experiment commit '1f9cc14' is incomplete in this repository/,
      );
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.equal(refs(w, shallow, "refs/exps/apply"), "", "no ORIG_HEAD, no stash");
      assert.equal(refs(w, shallow, "refs/exps/exec"), "");
      assert.deepEqual(workspaceFiles(shallow), before);
      assert.equal(w.fx.git(["status", "--porcelain"], shallow), "");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("blobless partial clone whose promisor cannot be reached: exp pull and exp show fail in one line, no ref is written", async () => {
  const server = await servers["file://"]!();
  try {
    await withWorld(server, async (w) => {
      w.fx.git(["config", "uploadpack.allowFilter", "true"], w.origin);
      const partial = await w.clone("partial", ["--filter=blob:none"]);
      w.fx.git(["remote", "set-url", "origin", join(w.fx.root, "gone.git")], partial);

      // The commits come from the fixture's remote by path; the left-out blobs cannot come.
      const pulled = await w.dxp(["exp", "pull", w.origin, "exp-b"], partial);
      assert.equal(pulled.code, 255, pulled.stderr);
      assert.match(
        pulled.stderr,
        /^ERROR: Could not fetch \d+ missing Git object\(s\) of this partial clone from '.*gone\.git'/,
      );
      assert.equal(pulled.stderr.trimEnd().split("\n").length, 1, pulled.stderr);
      assert.equal(refs(w, partial), "");

      const shown = await w.dxp(["exp", "show", "-A"], partial);
      assert.equal(shown.code, 255, shown.stdout);
      assert.match(shown.stderr, /^ERROR: Could not fetch \d+ missing Git object\(s\)/);
      assert.equal(shown.stderr.trimEnd().split("\n").length, 1, shown.stderr);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("shallow clone over ssh v0: exp pull -A takes one request without and one with deepen, .git/shallow as git's two fetches", async () => {
  const server = await servers["ssh v0"]!();
  try {
    await withWorld(server, async (w) => {
      const shallow = await w.clone("shallow", ["--depth", "1"]);
      const twin = await w.clone("twin", ["--depth", "1"]);
      const log = join(w.fx.root, "ssh.log");
      const counting = join(w.fx.root, "ssh-counting");
      writeFileSync(
        counting,
        `#!/bin/sh\necho "$*" >> '${log}'\nexec ${w.fx.env["DXP_SSH_COMMAND"]} "$@"\n`,
      );
      chmodSync(counting, 0o755);
      w.fx.env["DXP_SSH_COMMAND"] = counting;
      w.fx.env["GIT_SSH_VARIANT"] = "ssh";
      await sameAsFull(w, shallow, ["exp", "pull", "-A", "origin"]);
      // v0 serves one request per connection: typed-gulf (baseline here), then exp-b with deepen.
      assert.equal(readFileSync(log, "utf8").trimEnd().split("\n").length, 2);
      assert.equal(
        refs(w, shallow),
        `${EXP_B} ${EXP_B_REF}\n${TYPED_GULF} ${TYPED_GULF_REF}\n`,
      );
      await w.git(["fetch", "-q", "origin", `${TYPED_GULF_REF}:${TYPED_GULF_REF}`], twin);
      await w.git(["fetch", "-q", "--depth", "2", "origin", `${EXP_B_REF}:${EXP_B_REF}`], twin);
      assert.equal(shallowFile(shallow), shallowFile(twin));
      fsckClean(w, shallow);
      await sameAsFull(w, shallow, ["exp", "show", "-A"]);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("blobless clone where git fetched the experiment without its blobs: exp pull completes it, exp apply works", async () => {
  const server = await servers["file://"]!();
  try {
    await withWorld(server, async (w) => {
      w.fx.git(["config", "uploadpack.allowFilter", "true"], w.origin);
      const partial = await w.clone("partial", ["--filter=blob:none"]);
      // git inherits the clone's filter: exp-b arrives without its blobs.
      await w.git(["fetch", "-q", "origin", `${EXP_B_REF}:${EXP_B_REF}`], partial);
      const lacking = w.fx.git(["rev-list", "--objects", "--missing=print", EXP_B], partial);
      assert.match(lacking, /^\?/m);

      // The data half of exp pull reads the experiment's dvc.lock, which git left out.
      const pulled = await w.dxp(["exp", "pull", "origin", "exp-b"], partial);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(pulled.stdout, "No experiments to pull.\n");
      assert.equal((await w.dxp(["exp", "pull", "origin", "exp-b"], w.full)).code, 0);
      await sameAsFull(w, partial, ["exp", "apply", "exp-b"]);
      assert.deepEqual(workspaceFiles(partial), workspaceFiles(w.full));
      fsckClean(w, partial);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("shallow and blobless at once (--depth 1 --filter=blob:none): exp pull, show, apply as in a complete clone", async () => {
  const server = await servers["file://"]!();
  try {
    await withWorld(server, async (w) => {
      w.fx.git(["config", "uploadpack.allowFilter", "true"], w.origin);
      const both = await w.clone("both", ["--depth", "1", "--filter=blob:none"]);
      await sameAsFull(w, both, ["exp", "pull", "origin", "exp-b"]);
      assert.equal(shallowFile(both), `${B1}\n${B2}\n`);
      fsckClean(w, both);
      await sameAsFull(w, both, ["exp", "show", "-A"]);
      await sameAsFull(w, both, ["exp", "apply", "exp-b"]);
      assert.deepEqual(workspaceFiles(both), workspaceFiles(w.full));
      fsckClean(w, both);
    });
  } finally {
    await server.stop();
  }
});
