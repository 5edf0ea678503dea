/**
 * The data verbs on dist/dxp, flag by flag, each checked by its effect:
 * no DVC remote (DVC's error, nothing moved, no ref), targets inside a
 * directory output and unknown targets, `-j` (a server that records how many
 * transfers run at once), HTTP(S) DVC remotes with and without the run cache,
 * experiments whose DVC files cannot be read, `exp pull --no-cache/--dry-run/
 * --json`, `exp push --json`, `--rev`/`-a` for fetch and pull.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  type FixtureCopy,
  fixtureCopy,
  listFiles,
  workspaceFiles,
} from "./helpers/fixture_repo.ts";
import { readGolden, sortedLines } from "./helpers/golden.ts";
import { remoteObjects, useEmptyRemotes } from "./helpers/dvc_remotes.ts";
import { startHttpDvcRemote } from "./helpers/http_dvc_remote.ts";
import { DXP_BIN, run, runAsync } from "./helpers/tmp.ts";

const B1 = "21f7f42d14aa43c823f2eb809f36b2453ef5d73b";
const B2 = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
const EXP_A_B2 = `refs/exps/c8/${B2.slice(2)}/exp-a`;

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");
const keyOf = (oid: string) => `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
const cacheOf = (repo: string) => listFiles(join(repo, ".dvc", "cache"));

/** `.dvc/config` text without `core.remote` (and, with `keepRemotes: false`, without remotes). */
function dropDefaultRemote(repo: string, keepRemotes: boolean): void {
  writeFileSync(
    join(repo, ".dvc", "config"),
    keepRemotes ? "['remote \"store\"']\n    url = ../../dvcstore\n" : "",
  );
  if (!keepRemotes) writeFileSync(join(repo, ".dvc", "config.local"), "");
}

/** A commit on `parent` whose `path` holds `content` (plumbing only; nothing checked out). */
function commitWithFile(fx: FixtureCopy, parent: string, path: string, content: string): string {
  const env = { ...fx.env, GIT_INDEX_FILE: join(fx.root, "scratch-index") };
  const git = (args: string[], input?: string) => {
    const result = run("git", args, { cwd: fx.repo, env, ...(input ? { input } : {}) });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim();
  };
  git(["read-tree", parent]);
  const blob = git(["hash-object", "-w", "--stdin"], content);
  git(["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`]);
  const tree = git(["write-tree"]);
  return git(["commit-tree", tree, "-p", parent, "-m", "broken lock"]);
}

/** dist/dxp without blocking the event loop (the HTTP remote runs in this process). */
function dxpAsync(fx: FixtureCopy, args: string[], cwd = fx.repo) {
  return runAsync(DXP_BIN, args, { cwd, env: fx.env });
}

// ---------------------------------------------------------------- no DVC remote (bug 3)

Deno.test("push, fetch, pull, status -c, exp push and exp pull without a default DVC remote fail with DVC's error and move nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // An experiment whose own commit names no default remote either (an
    // experiment's default remote comes from its commit's .dvc/config).
    const noDefault = commitWithFile(
      fx,
      B2,
      ".dvc/config",
      "['remote \"store\"']\n    url = ../../dvcstore\n",
    );
    fx.git(["update-ref", `refs/exps/c8/${B2.slice(2)}/no-default`, noDefault]);
    const clone = fx.freshClone();
    for (const repo of [fx.repo, clone]) dropDefaultRemote(repo, true);
    const store = join(fx.root, "dvcstore");
    const storeBefore = listFiles(store);
    const originBefore = fx.git(["ls-remote", "../origin.git"]);
    const hint = (repo: string, command: string) =>
      `ERROR: configuration error - config file error: no remote specified in Repo: '${
        realpathSync(repo)
      }'. Setup default remote with\n    dvc remote default <remote name>\nor use:\n    dvc ${command} -r <remote name>\n`;
    const cases: [string[], string, string][] = [
      [["push"], fx.repo, "push"],
      [["status", "-c"], fx.repo, "status"],
      [["exp", "push", "origin", "no-default"], fx.repo, "exp push"],
      [["fetch"], clone, "fetch"],
      [["pull"], clone, "pull"],
    ];
    for (const [argv, cwd, command] of cases) {
      const result = fx.dxp(argv, cwd);
      assert.equal(result.code, 251, `${argv.join(" ")}: ${result.stderr}`);
      assert.equal(result.stdout, "", argv.join(" "));
      assert.equal(result.stderr, hint(cwd, command), argv.join(" "));
    }
    // Nothing moved, no ref pushed.
    assert.deepEqual(listFiles(store), storeBefore);
    assert.equal(fx.git(["ls-remote", "../origin.git"]), originBefore);
    // Its ref alone (no data to move) goes with --no-cache; pulling it with
    // its data then fails the same way and writes no ref.
    const noCache = fx.dxp(["exp", "push", "--no-cache", "origin", "no-default"]);
    assert.equal(noCache.code, 0, noCache.stderr);
    const pulled = fx.dxp(["exp", "pull", "origin", "no-default"], clone);
    assert.equal(pulled.code, 251, pulled.stderr);
    assert.equal(pulled.stderr, hint(clone, "exp pull"));
    assert.equal(fx.git(["for-each-ref", "refs/exps"], clone), "");
    assert.deepEqual(cacheOf(clone), []);
    // -r names the remote: the error is gone and the data moves.
    const named = fx.dxp(["fetch", "-r", "store"], clone);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout, "23 files fetched\n");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("with no DVC remote at all the error says how to create one", async () => {
  const fx = await fixtureCopy("basic");
  try {
    dropDefaultRemote(fx.repo, false);
    const result = fx.dxp(["push"]);
    assert.equal(result.code, 251);
    assert.equal(
      result.stderr,
      `ERROR: configuration error - config file error: no remote specified in Repo: '${
        realpathSync(fx.repo)
      }'. Create a default remote with\n    dvc remote add -d <remote name> <remote url>\n`,
    );
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- targets (bug 4)

Deno.test("dxp push/fetch of a path inside a tracked directory move exactly the files under it", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const nested = ["level1.txt", "deep/level2.txt", "deep/deeper/level3.txt"].map((f) =>
      keyOf(md5(readFileSync(join(fx.repo, "data_out", "nested", f))))
    ).sort();
    mkdirSync(join(fx.root, "empty"));
    writeFileSync(
      join(fx.repo, ".dvc", "config.local"),
      "['remote \"store\"']\n    url = ../../empty\n",
    );
    const pushed = fx.dxp(["push", "data_out/nested"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(pushed.stdout, "3 files pushed\n");
    // The files only: never the .dir, whose presence would promise all 20 members.
    assert.deepEqual(listFiles(join(fx.root, "empty")), nested);
    // Relative to the cwd, as DVC takes targets.
    const again = fx.dxp(["push", "nested"], join(fx.repo, "data_out"));
    assert.equal(again.stdout, "Everything is up to date.\n");

    const clone = fx.freshClone();
    const one = keyOf(md5(readFileSync(join(fx.repo, "data_out/nested/level1.txt"))));
    const fetched = fx.dxp(["fetch", "data_out/nested/level1.txt"], clone);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(fetched.stdout, "1 file fetched\n");
    // That file, and the manifest that says which file it is (not counted).
    const dir = "files/md5/05/3c2dc049fea559cb76888c6247ca21.dir";
    assert.deepEqual(cacheOf(clone), [dir, one].sort());
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp push/fetch/pull of an unknown target fail with DVC's message and move nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const store = join(fx.root, "dvcstore");
    const before = listFiles(store);
    const cases: [string[], string, string][] = [
      [["push", "nope"], fx.repo, "nope"],
      [["push", "data_out/no-such-file.txt"], fx.repo, "data_out/no-such-file.txt"],
      [["fetch", "nope"], clone, "nope"],
      [["fetch", "model.bin", "nope"], clone, "nope"],
      [["pull", "nope"], clone, "nope"],
    ];
    for (const [argv, cwd, target] of cases) {
      const result = fx.dxp(argv, cwd);
      assert.equal(result.code, 255, argv.join(" "));
      assert.equal(
        result.stderr,
        `ERROR: '${target}' does not exist as an output or a stage name in 'dvc.yaml'\n`,
        argv.join(" "),
      );
      assert.equal(result.stdout, "", argv.join(" "));
    }
    assert.deepEqual(listFiles(store), before);
    assert.deepEqual(cacheOf(clone), []);
    assert.deepEqual(
      workspaceFiles(clone).filter((l) => l.includes("data_out") || l.includes("model.bin")),
      [],
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp pull of a file inside a tracked directory materialises that file only (checkout of a part)", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const result = fx.dxp(["pull", "data_out/nested/level1.txt"], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      readFileSync(join(clone, "data_out/nested/level1.txt")),
      readFileSync(join(fx.repo, "data_out/nested/level1.txt")),
    );
    assert.deepEqual(
      workspaceFiles(clone).filter((l) => l.includes(" data_out/")).map((l) => l.split(" ")[2]),
      ["data_out/nested/level1.txt"],
    );
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- --rev, -a, -T for fetch and pull

Deno.test("dxp fetch --rev and pull -a bring the named revisions' objects too; plain fetch does not", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const clone = fx.freshClone();
    const head = fx.dxp(["fetch"], clone);
    assert.equal(head.stdout, "7 files fetched\n");
    const workspace = new Set(cacheOf(clone));
    const B1R = "59cd22220db6b081790dd907a87d270cc16022c1";
    const rev = fx.dxp(["fetch", "--rev", B1R], clone);
    assert.equal(rev.code, 0, rev.stderr);
    // B1's own: features .dir, rows.csv, sub/lr.txt, model.bin, raw.csv, report.txt.
    assert.equal(rev.stdout, "6 files fetched\n");
    assert.ok(cacheOf(clone).includes("files/md5/01/b232f9f1ca1d2f678e14b05ef7e65e.dir"));
    assert.equal(cacheOf(clone).filter((k) => !workspace.has(k)).length, 6);

    // -a: every branch; a branch at B2 adds B2's own objects (its features
    // .dir, model.bin, report.txt) to what pull fetches; the checkout stays HEAD's.
    fx.git(["branch", "b2", "989d273dd6006ac3f8bf3e5a301479492e0a2e11"], clone);
    const all = fx.dxp(["pull", "-a"], clone);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.split("\n").filter(Boolean).pop(), "3 files fetched and 6 files added");
    for (
      const key of ["2f/bab8762288a819a6de3a68ba83469a.dir", "66/97a2534c92eeb2b5353befe19e5d17"]
    ) {
      assert.ok(cacheOf(clone).includes(`files/md5/${key}`), key);
    }
    assert.equal(md5(readFileSync(join(clone, "report.txt"))), "aecd01184a2cb57bd312a9c79e6a21b6");
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- -j and HTTP(S) remotes

Deno.test("-j N runs N transfers at once (push, fetch, exp push, exp pull over an HTTP DVC remote)", async () => {
  const fx = await fixtureCopy("basic");
  const empty = join(fx.root, "http-store");
  mkdirSync(empty);
  const remote = await startHttpDvcRemote(empty);
  try {
    const useRemote = (repo: string) =>
      writeFileSync(
        join(repo, ".dvc", "config.local"),
        `['remote "store"']\n    url = ${remote.url}\n`,
      );
    useRemote(fx.repo);
    // exp push -j 1: one upload at a time.
    remote.holdUntil = 1;
    const one = await dxpAsync(fx, ["exp", "push", "origin", "exp-a", "-j", "1"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(remote.maxInFlight.get("POST"), 1);
    // push -j 3: three at once, never more.
    remote.holdUntil = 3;
    remote.maxInFlight.clear();
    const three = await dxpAsync(fx, ["push", "-j", "3"]);
    assert.equal(three.code, 0, three.stderr);
    assert.match(three.stdout, /^\d+ files pushed\n$/);
    assert.equal(remote.maxInFlight.get("POST"), 3);
    // What went over HTTP is DVC's layout: fetch it back into a fresh clone.
    const clone = fx.freshClone();
    useRemote(clone);
    remote.holdUntil = 2;
    remote.maxInFlight.clear();
    const fetched = await dxpAsync(fx, ["fetch", "-j", "2"], clone);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(fetched.stdout, "23 files fetched\n");
    assert.equal(remote.maxInFlight.get("GET"), 2);
    remote.holdUntil = 4;
    remote.maxInFlight.clear();
    const pulled = await dxpAsync(fx, ["exp", "pull", "origin", "exp-a", "-j", "4"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(remote.maxInFlight.get("GET"), 4);
    for (const key of cacheOf(clone)) {
      assert.deepEqual(
        readFileSync(join(clone, ".dvc", "cache", key)),
        readFileSync(join(fx.repo, ".dvc", "cache", key)),
      );
    }
    // pull -j 3 in a second clone: three downloads at once, then the checkout.
    const second = join(fx.root, "clone-2");
    run("git", ["clone", "-q", join(fx.root, "origin.git"), second], { env: fx.env });
    useRemote(second);
    remote.holdUntil = 3;
    remote.maxInFlight.clear();
    const pulledAll = await dxpAsync(fx, ["pull", "-j", "3"], second);
    assert.equal(pulledAll.code, 0, pulledAll.stderr);
    assert.equal(remote.maxInFlight.get("GET"), 3);
    assert.deepEqual(
      readFileSync(join(second, "model.bin")),
      readFileSync(join(fx.repo, "model.bin")),
    );
  } finally {
    await remote.stop();
    await fx.cleanup();
  }
});

Deno.test("an https DVC remote with ssl_verify: push, then pull in a fresh clone", async () => {
  const fx = await fixtureCopy("basic");
  const folder = join(fx.root, "https-store");
  mkdirSync(folder);
  const remote = await startHttpDvcRemote(folder, { tls: true });
  try {
    const config =
      `['remote "store"']\n    url = ${remote.url}\n    ssl_verify = ${remote.caFile}\n`;
    writeFileSync(join(fx.repo, ".dvc", "config.local"), config);
    const pushed = await dxpAsync(fx, ["push"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(pushed.stdout, "23 files pushed\n");
    const clone = fx.freshClone();
    writeFileSync(join(clone, ".dvc", "config.local"), config);
    const pulled = await dxpAsync(fx, ["pull"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.deepEqual(
      readFileSync(join(clone, "model.bin")),
      readFileSync(join(fx.repo, "model.bin")),
    );
    // Without the CA the certificate is refused: nothing fetched.
    const other = join(fx.root, "clone2");
    run("git", ["clone", "-q", join(fx.root, "origin.git"), other], { env: fx.env });
    writeFileSync(
      join(other, ".dvc", "config.local"),
      `['remote "store"']\n    url = ${remote.url}\n`,
    );
    const refused = await dxpAsync(fx, ["fetch"], other);
    assert.notEqual(refused.code, 0);
    assert.deepEqual(cacheOf(other), []);
  } finally {
    await remote.stop();
    await fx.cleanup();
  }
});

Deno.test("exp push/pull --run-cache with an HTTP DVC remote skip the run cache (HTTP cannot list) and move the data", async () => {
  const fx = await fixtureCopy("basic");
  const folder = join(fx.root, "http-store");
  cpSync(join(fx.root, "dvcstore"), folder, { recursive: true });
  const remote = await startHttpDvcRemote(folder);
  try {
    const config = `['remote "store"']\n    url = ${remote.url}\n`;
    writeFileSync(join(fx.repo, ".dvc", "config.local"), config);
    const pushed = await dxpAsync(fx, ["exp", "push", "--run-cache", "origin", "exp-a"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    // exp-a's 12 new objects; no run-cache entry counted or sent.
    assert.equal(
      pushed.stdout,
      "Pushed experiment exp-a to Git remote 'origin'.\n12 files uploaded\n",
    );
    assert.equal(existsSync(join(folder, "runs")), false);
    const clone = fx.freshClone();
    writeFileSync(join(clone, ".dvc", "config.local"), config);
    const pulled = await dxpAsync(fx, ["exp", "pull", "--run-cache", "origin", "exp-b"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    assert.equal(pulled.stderr, "");
    assert.equal(existsSync(join(clone, ".dvc", "cache", "runs")), false);
    const golden = readGolden("basic", "exp-pull_exp-b_fresh-clone");
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sortedLines(golden.sections.get("after: files in .dvc/cache (mode path)")!),
    );
    assert.equal(remote.requests.some((r) => r.path.includes("/runs")), false);
  } finally {
    await remote.stop();
    await fx.cleanup();
  }
});

Deno.test("exp push/pull --run-cache -r X move the run cache to and from X, with the data", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const runs = listFiles(join(fx.repo, ".dvc", "cache", "runs"));
    assert.equal(runs.length, 14);
    const pushed = fx.dxp(["exp", "push", "origin", "exp-3", "--run-cache", "-r", "third"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.deepEqual(listFiles(join(fx.root, "third", "runs")), runs);
    assert.equal(existsSync(join(fx.root, "store", "runs")), false);
    const clone = fx.freshClone();
    const pulled = fx.dxp(["exp", "pull", "origin", "exp-3", "--run-cache", "-r", "third"], clone);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.deepEqual(listFiles(join(clone, ".dvc", "cache", "runs")), runs);
    // -r third: exp-3's objects came from third, where the push put them all.
    assert.equal(cacheOf(clone).filter((k) => k.startsWith("files/")).length, 6);
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- unreadable DVC files (bug 5)

Deno.test("exp push of an experiment whose dvc.lock cannot be read keeps its ref back (exit 1), unless --allow-missing; exp pull of it exits 1", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const lock = fx.git(["show", `${B2}:dvc.lock`]);
    const broken = commitWithFile(
      fx,
      B2,
      "dvc.lock",
      `<<<<<<< HEAD\n${lock}=======\n${lock}>>>>>>> other\n`,
    );
    const ref = `refs/exps/c8/${B2.slice(2)}/broken-lock`;
    fx.git(["update-ref", ref, broken]);
    const store = join(fx.root, "dvcstore");
    const before = listFiles(store);
    const result = fx.dxp(["exp", "push", "origin", "broken-lock", "exp-a"]);
    assert.equal(result.code, 1, result.stderr);
    // A line naming the experiment and the file, and the ref held back.
    assert.match(
      result.stderr,
      /^ERROR: experiment 'broken-lock' \(commit [0-9a-f]{7}\): 'dvc\.lock' is invalid \(possible merge conflicts\): line 1, column 1: /m,
    );
    assert.match(
      result.stderr,
      /^Experiment broken-lock was not pushed: its DVC files cannot be read \(the error above names the file\); .*--allow-missing\.$/m,
    );
    // The other experiment is not held back by it.
    assert.equal(
      result.stdout,
      "Pushed experiment exp-a to Git remote 'origin'.\n12 files uploaded\n",
    );
    const remoteRefs = fx.git(["ls-remote", "../origin.git"]);
    assert.doesNotMatch(remoteRefs, /broken-lock/);
    assert.match(remoteRefs, new RegExp(EXP_A_B2));
    assert.equal(listFiles(store).length, before.length + 12);

    const allowed = fx.dxp(["exp", "push", "--allow-missing", "origin", "broken-lock"]);
    assert.equal(allowed.code, 1, allowed.stderr);
    assert.match(allowed.stderr, /^ERROR: experiment 'broken-lock' .*dvc\.lock/m);
    assert.match(fx.git(["ls-remote", "../origin.git"]), /broken-lock/);

    // The same for a broken dvc.yaml or .dvc file of an experiment.
    for (const [file, name] of [["dvc.yaml", "broken-yaml"], ["data/raw.csv.dvc", "broken-dvc"]]) {
      const commit = commitWithFile(fx, B2, file!, "stages: [\n");
      fx.git(["update-ref", `refs/exps/c8/${B2.slice(2)}/${name}`, commit]);
      const other = fx.dxp(["exp", "push", "origin", name!]);
      assert.equal(other.code, 1, other.stderr);
      assert.ok(
        other.stderr.includes(
          `ERROR: experiment '${name}' (commit ${commit.slice(0, 7)}): '${file}'`,
        ),
        other.stderr,
      );
      assert.match(
        other.stderr,
        new RegExp(`^Experiment ${name} was not pushed: its DVC files`, "m"),
      );
      assert.doesNotMatch(fx.git(["ls-remote", "../origin.git"]), new RegExp(name!));
    }

    // Pulling it cannot list its data either: not a silent success.
    const clone = fx.freshClone();
    const pulled = fx.dxp(["exp", "pull", "origin", "broken-lock"], clone);
    assert.equal(pulled.code, 1, pulled.stderr);
    assert.match(
      pulled.stderr,
      /^ERROR: experiment 'broken-lock' .*'dvc\.lock' is invalid \(possible merge conflicts\)/m,
    );
    // Its commit is there to inspect; no data could be planned.
    assert.match(fx.git(["for-each-ref", "refs/exps"], clone), /broken-lock/);
    assert.deepEqual(cacheOf(clone), []);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp push/fetch/status -c with a work tree whose dvc.lock cannot be read stop before moving anything", async () => {
  const fx = await fixtureCopy("basic");
  try {
    mkdirSync(join(fx.root, "empty"));
    writeFileSync(
      join(fx.repo, ".dvc", "config.local"),
      "['remote \"store\"']\n    url = ../../empty\n",
    );
    const lock = readFileSync(join(fx.repo, "dvc.lock"), "utf8");
    writeFileSync(join(fx.repo, "dvc.lock"), `<<<<<<< HEAD\n${lock}=======\n${lock}>>>>>>> b\n`);
    for (const argv of [["push"], ["fetch"], ["status", "-c"]]) {
      const result = fx.dxp(argv);
      assert.equal(result.code, 255, argv.join(" "));
      assert.match(
        result.stderr,
        /^ERROR: 'dvc\.lock' is invalid \(possible merge conflicts\): line 1, column 1: /,
        argv.join(" "),
      );
      assert.equal(result.stderr.split("\n").length, 2, "one line");
    }
    assert.deepEqual(listFiles(join(fx.root, "empty")), []);
  } finally {
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- exp pull / exp push flags

Deno.test("dxp exp pull --no-cache takes the ref only; --dry-run takes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const dry = fx.dxp(["exp", "pull", "--dry-run", "origin", "exp-b"], clone);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, "Would pull experiment exp-b from Git remote 'origin'.\n");
    assert.equal(fx.git(["for-each-ref", "refs/exps"], clone), "");
    assert.equal(existsSync(join(clone, ".dvc", "cache")), false);
    const noCache = fx.dxp(["exp", "pull", "--no-cache", "origin", "exp-b"], clone);
    assert.equal(noCache.code, 0, noCache.stderr);
    assert.equal(
      noCache.stdout,
      "Pulled experiment exp-b from Git remote 'origin'.\n" +
        "To pull cached outputs for this experiment from DVC remote storage, re-run this command without '--no-cache'.\n",
    );
    assert.equal(
      fx.git(["rev-parse", `refs/exps/21/${B1.slice(2)}/exp-b`], clone).trim(),
      "1f9cc1479cd534fb1c92727d455a9202197ef021",
    );
    assert.equal(existsSync(join(clone, ".dvc", "cache")), false);
    fx.git(["fsck", "--full"], clone);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp push --json and exp pull --json: every field of the result", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    const sha = fx.git(["rev-parse", "refs/exps/c6/d34a0a096dcc0e6afaa76344ef97315066a991/exp-3"])
      .trim();
    const ref = "refs/exps/c6/d34a0a096dcc0e6afaa76344ef97315066a991/exp-3";
    const baseline = "c6d34a0a096dcc0e6afaa76344ef97315066a991";
    const pushed = fx.dxp(["exp", "push", "--json", "origin", "exp-3"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.deepEqual(JSON.parse(pushed.stdout), {
      success: ["exp-3"],
      uploaded: 4,
      url: null,
      dry_run: false,
      refs: [{
        ref,
        name: "exp-3",
        baseline,
        sha,
        previous_sha: null,
        status: "success",
        forced: false,
      }],
      missing: [],
      failed: 0,
    });
    const again = fx.dxp(["exp", "push", "--json", "origin", "exp-3"]);
    assert.deepEqual(JSON.parse(again.stdout).up_to_date, ["exp-3"]);
    assert.equal(JSON.parse(again.stdout).refs[0].previous_sha, sha);

    const clone = fx.freshClone();
    const pulled = fx.dxp(["exp", "pull", "--json", "origin", "exp-3", "-r", "other"], clone);
    assert.equal(pulled.code, 1);
    assert.deepEqual(JSON.parse(pulled.stdout), {
      success: ["exp-3"],
      downloaded: 1,
      url: null,
      dry_run: false,
      refs: [{
        ref,
        name: "exp-3",
        baseline,
        sha,
        previous_sha: null,
        status: "success",
        forced: false,
      }],
      // With -r other only raw.csv could come; the train outputs are not there.
      missing: [
        { hash: "7ad5bbdab21657623701b72587e0852f.dir", scheme: "md5" },
        { hash: "5104110c7687968246bcd7d993d95ddf", scheme: "md5" },
      ],
      failed: 0,
    });
    // --json prints nothing else on stdout.
    assert.equal(pulled.stdout.trim().startsWith("{"), true);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a corrupt object on an HTTP remote fails its download without 'run the command again' (a rerun cannot help); after repair a rerun finishes", async () => {
  const fx = await fixtureCopy("basic");
  const folder = join(fx.root, "http-store");
  cpSync(join(fx.root, "dvcstore"), folder, { recursive: true });
  const remote = await startHttpDvcRemote(folder);
  try {
    const clone = fx.freshClone();
    writeFileSync(
      join(clone, ".dvc", "config.local"),
      `['remote "store"']\n    url = ${remote.url}\n`,
    );
    const key = keyOf(md5(readFileSync(join(fx.repo, "model.bin"))));
    const victim = join(folder, key);
    const good = readFileSync(victim);
    chmodSync(victim, 0o644);
    writeFileSync(victim, "not the model\n");
    const result = await dxpAsync(fx, ["fetch"], clone);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`WARNING: failed to download '${key}': `), result.stderr);
    assert.match(result.stderr, /^ERROR: 1 file failed to download \(DVC remote 'store'\)$/m);
    assert.doesNotMatch(result.stderr, /run the command again/);
    assert.equal(result.stdout, "22 files fetched\n");
    // Nothing of the bad bytes entered the cache.
    assert.equal(cacheOf(clone).includes(key), false);
    writeFileSync(victim, good);
    const again = await dxpAsync(fx, ["fetch"], clone);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "1 file fetched\n");
  } finally {
    await remote.stop();
    await fx.cleanup();
  }
});

Deno.test("push/fetch/pull -a, -T, -A and --rev each add exactly their revisions' objects", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    // Each baseline's `features` directory has its own .dir object.
    const DIRS = {
      b1: "files/md5/01/b232f9f1ca1d2f678e14b05ef7e65e.dir",
      b2: "files/md5/2f/bab8762288a819a6de3a68ba83469a.dir",
      b3: "files/md5/84/bec0f471a62dfa560ea098f794b835.dir",
    };
    const R1 = "59cd22220db6b081790dd907a87d270cc16022c1";
    const R2 = "989d273dd6006ac3f8bf3e5a301479492e0a2e11";
    const which = (keys: string[]) =>
      Object.entries(DIRS).filter(([, dir]) => keys.includes(dir)).map(([name]) => name);
    const clone = (name: string, setup: (dir: string) => void = () => {}) => {
      const dir = join(fx.root, name);
      run("git", ["clone", "-q", join(fx.root, "origin.git"), dir], { env: fx.env });
      writeFileSync(
        join(dir, ".dvc", "config.local"),
        ["store", "other", "third"].map((r) => `['remote "${r}"']\n    url = ../../${r}\n`).join(
          "",
        ),
      );
      setup(dir);
      return dir;
    };
    const tagB1 = (dir: string) => fx.git(["tag", "v1", R1], dir);
    const branchB2 = (dir: string) => fx.git(["branch", "b2", R2], dir);
    const cases: [string, string[], (dir: string) => void, string[]][] = [
      ["fetch-a", ["fetch", "-a"], branchB2, ["b2", "b3"]],
      ["fetch-T", ["fetch", "-T"], tagB1, ["b1", "b3"]],
      ["fetch-A", ["fetch", "-A"], () => {}, ["b1", "b2", "b3"]],
      ["fetch-rev", ["fetch", "--rev", R2], () => {}, ["b2", "b3"]],
      ["pull-T", ["pull", "-T"], tagB1, ["b1", "b3"]],
      ["pull-rev", ["pull", "--rev", R1], () => {}, ["b1", "b3"]],
      ["pull-A", ["pull", "-A"], () => {}, ["b1", "b2", "b3"]],
    ];
    for (const [name, argv, setup, expected] of cases) {
      const dir = clone(name, setup);
      const result = fx.dxp(argv, dir);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      assert.deepEqual(which(cacheOf(dir)), expected, name);
      // The work tree is HEAD's (B3) whatever else was fetched.
      if (argv[0] === "pull") {
        assert.equal(
          md5(readFileSync(join(dir, "features", "rows.csv"))),
          "e6d49d2d9b64295d2ac7f6bd29f35b52",
        );
      }
    }
    // push: into empty remotes, from a fixture repo (B1-B3 in its cache).
    const pushCases: [string[], (repo: FixtureCopy) => void, string[]][] = [
      [["push", "--rev", R1], () => {}, ["b1", "b3"]],
      [["push", "-a"], (repo) => repo.git(["branch", "old", R2]), ["b2", "b3"]],
      [["push", "-T"], (repo) => repo.git(["tag", "v1", R1]), ["b1", "b3"]],
    ];
    for (const [argv, setup, expected] of pushCases) {
      const repo = await fixtureCopy("remotes");
      try {
        const folders = useEmptyRemotes(repo);
        setup(repo);
        const result = repo.dxp(argv);
        assert.equal(result.code, 0, `${argv.join(" ")}: ${result.stderr}`);
        const keys = [...remoteObjects(repo.root, folders)].map((o) => o.slice(o.indexOf("/") + 1));
        assert.deepEqual(which(keys), expected, argv.join(" "));
      } finally {
        await repo.cleanup();
      }
    }
  } finally {
    await fx.cleanup();
  }
});
