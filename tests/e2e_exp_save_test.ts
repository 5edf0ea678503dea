/**
 * `dxp exp save` beyond the goldens: the round trip through exp push and
 * exp pull, interruptions, each flag's effect, the stamp cache, link types
 * and what is left in the index.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { DXP_BIN, git, runAsync } from "./helpers/tmp.ts";
import { trainByHand } from "./save_training.ts";

const B1 = "9e5fc868a70ae97f6c9b533e22e69a79ac996c6d";
const expRef = (name: string) => `refs/exps/9e/${B1.slice(2)}/${name}`;

const md5 = (path: string) => createHash("md5").update(readFileSync(path)).digest("hex");

/** md5 of every regular file below `dir` (relative path → md5). */
function tree(dir: string): Map<string, string> {
  return new Map(listFiles(dir).map((f) => [f, md5(join(dir, f))]));
}

/** The entry of `path` in the lock text's stage `stage` (`md5`/`size` lines), for comparisons. */
function lockMd5(repo: string, stage: string, path: string): string {
  const text = readFileSync(join(repo, "dvc.lock"), "utf8");
  const block = text.slice(text.indexOf(`  ${stage}:\n`));
  const at = block.indexOf(`- path: ${path}\n`);
  return /md5: ([0-9a-f.dir]+)/.exec(block.slice(at))![1]!;
}

Deno.test("an experiment saved by dxp travels with exp push and exp pull, and exp apply + checkout restore it byte for byte", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { scale: 3, lr: "0.2" });
    const saved = fx.dxp(["exp", "save", "-n", "run-42"]);
    assert.equal(saved.code, 0, saved.stderr);
    const push = fx.dxp(["exp", "push", "origin", "run-42"]);
    assert.equal(push.code, 0, push.stderr);
    const sha = fx.git(["rev-parse", expRef("run-42")]).trim();
    assert.ok(fx.git(["ls-remote", "../origin.git"]).includes(`${sha}\t${expRef("run-42")}`));
    const store = listFiles(join(fx.root, "dvcstore"));
    for (
      const object of [
        "files/md5/22/890230ab2fe8dad294bdd4cbfca340.dir",
        "files/md5/38/10c89ba569960e41a5786659cca075",
        "files/md5/2b/ea9c767ba5c1edca6e1f0c223cef31",
      ]
    ) assert.ok(store.includes(object), object);
    // metrics.json is `cache: false`: it travels in Git, never to the DVC remote.
    assert.ok(!store.includes("files/md5/73/7e1afcd31ecb686da5421db4653c66"));

    const clone = fx.freshClone();
    const pull = fx.dxp(["exp", "pull", "origin", "run-42"], clone);
    assert.equal(pull.code, 0, pull.stderr);
    const apply = fx.dxp(["exp", "apply", "run-42"], clone);
    assert.equal(apply.code, 0, apply.stderr);
    const checkout = fx.dxp(["checkout"], clone);
    assert.equal(checkout.code, 0, checkout.stderr);
    for (const file of ["model.bin", "metrics.json", "params.yaml", "dvc.lock", "data/raw.csv"]) {
      assert.equal(md5(join(clone, file)), md5(join(fx.repo, file)), file);
    }
    assert.deepEqual(tree(join(clone, "features")), tree(join(fx.repo, "features")));
    git(["fsck", "--full"], clone);
    git(["fsck", "--full"], join(fx.root, "origin.git"));
    fx.git(["fsck", "--full"]);
  } finally {
    await fx.cleanup();
  }
});

/** Writes `mib` MiB of non-repeating bytes to `path`. */
function bigFile(path: string, mib: number): void {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    chunk.fill(i % 251);
    chunk[0] = i & 0xff;
    writeSync(fd, chunk);
  }
  closeSync(fd);
}

/** Starts dxp through a shell that reports its exit status; returns its pid and completion. */
function startDxp(fx: FixtureCopy, args: string[]) {
  const pidFile = join(fx.root, "dxp.pid");
  const child = spawn("sh", [
    "-c",
    `"$0" "$@" & echo $! > '${pidFile}'; wait $!; echo "exit=$?" >&2`,
    DXP_BIN,
    ...args,
  ], { cwd: fx.repo, env: fx.env });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
  const done = new Promise<string>((resolve) => child.on("close", () => resolve(stderr)));
  const pid = async () => {
    while (!existsSync(pidFile) || readFileSync(pidFile, "utf8").trim() === "") {
      await new Promise((r) => setTimeout(r, 2));
    }
    return Number(readFileSync(pidFile, "utf8"));
  };
  return { pid, done };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 60_000) throw new Error(`never saw: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** True while process `pid` has `path` open. */
function hasOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Every cache object's content matches its name (nothing half-written under a final name). */
function assertCacheIntact(repo: string): void {
  const root = join(repo, ".dvc", "cache", "files", "md5");
  for (const file of listFiles(root)) {
    if (file.endsWith(".tmp")) continue;
    const oid = file.replace("/", "").replace(/\.dir$/, "");
    assert.equal(md5(join(root, file)), oid, file);
  }
}

Deno.test("SIGINT while a big output is hashed: exit 252, no ref, dvc.lock untouched; the rerun saves", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.2" });
    bigFile(join(fx.repo, "model.bin"), 256);
    const lock = readFileSync(join(fx.repo, "dvc.lock"));
    const run = startDxp(fx, ["exp", "save", "-n", "big"]);
    const pid = await run.pid();
    await until(() => hasOpen(pid, join(fx.repo, "model.bin")), "model.bin being read");
    process.kill(pid, "SIGINT");
    const stderr = await run.done;
    assert.match(stderr, /ERROR: interrupted by the user\nexit=252\n$/, stderr);
    assert.equal(fx.git(["for-each-ref", "refs/exps"]), "");
    assert.deepEqual(readFileSync(join(fx.repo, "dvc.lock")), lock);
    assert.equal(existsSync(join(fx.repo, ".dvc", "tmp", "lock")), false, "lock released");
    assertCacheIntact(fx.repo);

    const rerun = await runAsync(DXP_BIN, ["exp", "save", "-n", "big"], {
      cwd: fx.repo,
      env: fx.env,
    });
    assert.equal(rerun.code, 0, rerun.stderr);
    const model = md5(join(fx.repo, "model.bin"));
    assert.equal(lockMd5(fx.repo, "train", "model.bin"), model);
    assert.equal(
      md5(join(fx.repo, ".dvc/cache/files/md5", model.slice(0, 2), model.slice(2))),
      model,
    );
    assert.ok(fx.git(["rev-parse", expRef("big")]).trim().length === 40);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("SIGKILL while a big output is copied into the cache: no ref, no partial object; the rerun saves", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.2" });
    bigFile(join(fx.repo, "model.bin"), 256);
    const model = md5(join(fx.repo, "model.bin"));
    const folder = join(fx.repo, ".dvc/cache/files/md5", model.slice(0, 2));
    const run = startDxp(fx, ["exp", "save", "-n", "big"]);
    const pid = await run.pid();
    await until(
      () => existsSync(folder) && readdirSync(folder).some((f) => f.endsWith(".tmp")),
      "a temporary object file",
    );
    process.kill(pid, "SIGKILL");
    assert.match(await run.done, /exit=137\n$/);
    assert.equal(fx.git(["for-each-ref", "refs/exps"]), "");
    assert.equal(existsSync(join(folder, model.slice(2))), false, "no object under its final name");
    assertCacheIntact(fx.repo);

    const rerun = await runAsync(DXP_BIN, ["exp", "save", "-n", "big"], {
      cwd: fx.repo,
      env: fx.env,
    });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(md5(join(folder, model.slice(2))), model);
    assert.equal(statSync(join(folder, model.slice(2))).mode & 0o777, 0o444);
    assertCacheIntact(fx.repo);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save targets: dvc.yaml:stage, a .dvc file, an output path, -R on a folder; unknown ones fail", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { scale: 3, lr: "0.2" });
    appendFileSync(join(fx.repo, "data/raw.csv"), "4,40\n");
    const before = readFileSync(join(fx.repo, "dvc.lock"), "utf8");
    // An output path selects its stage: only evaluate's entry changes.
    let r = fx.dxp(["exp", "save", "-n", "by-out", "metrics.json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lockMd5(fx.repo, "evaluate", "metrics.json"), md5(join(fx.repo, "metrics.json")));
    assert.equal(lockMd5(fx.repo, "train", "model.bin"), "081c85cc461080196065f1586ece28c4");
    assert.notEqual(readFileSync(join(fx.repo, "dvc.lock"), "utf8"), before);
    // The .dvc file target: only data/raw.csv.dvc changes.
    r = fx.dxp(["exp", "save", "-n", "by-dvc-file", "data/raw.csv.dvc"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      readFileSync(join(fx.repo, "data/raw.csv.dvc"), "utf8"),
      /77036f0cf80975642fd1ff7c989cbd7b/,
    );
    assert.equal(lockMd5(fx.repo, "prepare", "data/raw.csv"), "bbd304055be67c211495c95f4e697eb2");
    // dvc.yaml:prepare takes the new raw.csv into prepare's entry.
    r = fx.dxp(["exp", "save", "-n", "by-addr", "dvc.yaml:prepare"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lockMd5(fx.repo, "prepare", "data/raw.csv"), "77036f0cf80975642fd1ff7c989cbd7b");
    assert.equal(lockMd5(fx.repo, "train", "model.bin"), "081c85cc461080196065f1586ece28c4");
    // -R on the project folder selects everything.
    r = fx.dxp(["exp", "save", "-n", "recursive", "-R", "."]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lockMd5(fx.repo, "train", "model.bin"), md5(join(fx.repo, "model.bin")));
    for (const name of ["by-out", "by-dvc-file", "by-addr", "recursive"]) {
      const raw = fx.git(["cat-file", "commit", expRef(name)]);
      // DVC's quirk: with targets the message hashes an empty mapping.
      assert.ok(
        raw.endsWith(
          "dvc: commit experiment 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        ),
      );
    }
    const bad = fx.dxp(["exp", "save", "-n", "nope", "no-such-stage"]);
    assert.equal(bad.code, 255);
    assert.equal(
      bad.stderr,
      "ERROR: failed to save experiment - 'no-such-stage' does not exist as an output or a stage name in 'dvc.yaml'\n",
    );
    assert.equal(fx.git(["for-each-ref", expRef("nope")]), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save -I commits a Git-ignored file and every file of a folder; staged changes are committed and unstaged", async () => {
  const fx = await fixtureCopy("save");
  try {
    mkdirSync(join(fx.repo, "notes/deep"), { recursive: true });
    writeFileSync(join(fx.repo, "notes/a.txt"), "a\n");
    writeFileSync(join(fx.repo, "notes/deep/b.txt"), "b\n");
    writeFileSync(join(fx.repo, "ignored.log"), "log\n");
    appendFileSync(join(fx.repo, ".gitignore"), "*.log\n");
    writeFileSync(join(fx.repo, "staged.txt"), "staged\n");
    fx.git(["add", "staged.txt", ".gitignore"]);
    const r = fx.dxp(["exp", "save", "-n", "inc", "-I", "notes", "-I", "ignored.log"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const files = fx.git(["ls-tree", "-r", "--name-only", expRef("inc")]).split("\n");
    for (const f of ["notes/a.txt", "notes/deep/b.txt", "ignored.log", "staged.txt"]) {
      assert.ok(files.includes(f), f);
    }
    assert.equal(fx.git(["show", `${expRef("inc")}:.gitignore`]).endsWith("*.log\n"), true);
    // As DVC leaves it: the index equals HEAD again, the changes stay in the work tree.
    assert.equal(fx.git(["diff", "--cached", "--name-only"]), "");
    assert.equal(fx.git(["status", "--short"]), " M .gitignore\n?? notes/\n?? staged.txt\n");
    const missing = fx.dxp(["exp", "save", "-n", "inc2", "-I", "not-there.txt"]);
    assert.equal(missing.code, 255);
    assert.equal(
      missing.stderr,
      "ERROR: failed to save experiment - 'not-there.txt' does not exist\n",
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a second dxp exp save trusts the stamp cache: a file whose inode, mtime and size are unchanged is not read again", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { scale: 3, lr: "0.2" });
    // Stamps younger than 2 s are never trusted (they could change within the same tick).
    const past = new Date(Date.now() - 60_000);
    for (const f of listFiles(join(fx.repo, "features"))) {
      utimesSync(join(fx.repo, "features", f), past, past);
    }
    utimesSync(join(fx.repo, "model.bin"), past, past);
    assert.equal(fx.dxp(["exp", "save", "-n", "first"]).code, 0);
    const dirBefore = lockMd5(fx.repo, "prepare", "features");
    // Same size, same inode, mtime put back: only a re-read could see this change.
    const scale = join(fx.repo, "features/scale.txt");
    writeFileSync(scale, "scale=9\n");
    utimesSync(scale, past, past);
    // model.bin really changes (new mtime): it is read again.
    const model = readFileSync(join(fx.repo, "model.bin"));
    model[20] = model[20]! ^ 0xff;
    writeFileSync(join(fx.repo, "model.bin"), model);
    assert.equal(fx.dxp(["exp", "save", "-n", "second"]).code, 0);
    assert.equal(lockMd5(fx.repo, "prepare", "features"), dirBefore, "features/ not re-read");
    assert.equal(lockMd5(fx.repo, "train", "model.bin"), md5(join(fx.repo, "model.bin")));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("with cache.type = hardlink the output becomes a hard link of its cache object (no second copy)", async () => {
  const fx = await fixtureCopy("save");
  try {
    appendFileSync(join(fx.repo, ".dvc/config"), "[cache]\n    type = hardlink\n");
    trainByHand(fx.repo, { lr: "0.2" });
    assert.equal(fx.dxp(["exp", "save", "-n", "linked"]).code, 0);
    const model = md5(join(fx.repo, "model.bin"));
    const object = join(fx.repo, ".dvc/cache/files/md5", model.slice(0, 2), model.slice(2));
    assert.equal(statSync(object).ino, statSync(join(fx.repo, "model.bin")).ino);
    assert.equal(statSync(object).mode & 0o777, 0o444);
    // The default (reflink, copy) makes an independent copy.
    const fx2 = await fixtureCopy("save");
    try {
      trainByHand(fx2.repo, { lr: "0.2" });
      assert.equal(fx2.dxp(["exp", "save", "-n", "copied"]).code, 0);
      const copy = join(fx2.repo, ".dvc/cache/files/md5", model.slice(0, 2), model.slice(2));
      assert.notEqual(statSync(copy).ino, statSync(join(fx2.repo, "model.bin")).ino);
      assert.equal(md5(copy), model);
    } finally {
      await fx2.cleanup();
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save refuses a missing params key and a missing dependency with DVC's messages, writing nothing", async () => {
  const fx = await fixtureCopy("save");
  try {
    const cache = listFiles(join(fx.repo, ".dvc/cache"));
    const lock = readFileSync(join(fx.repo, "dvc.lock"));
    writeFileSync(join(fx.repo, "params.yaml"), "scale: 2\nepochs: 3\neval:\n  threshold: 0.5\n");
    let r = fx.dxp(["exp", "save", "-n", "p"]);
    assert.equal(r.code, 255);
    assert.equal(
      r.stderr,
      "ERROR: failed to save experiment - Parameters 'lr' are missing from 'params.yaml'.\n",
    );
    fx.git(["checkout", "params.yaml"]);
    Deno.removeSync(join(fx.repo, "train.py"));
    r = fx.dxp(["exp", "save", "-n", "d"], join(fx.repo, "data"));
    assert.equal(r.code, 255);
    // Paths are shown relative to the user's directory, as DVC shows them.
    assert.equal(
      r.stderr,
      "ERROR: failed to save experiment - dependency '../train.py' does not exist\n",
    );
    assert.equal(fx.git(["for-each-ref", "refs/exps"]), "");
    assert.deepEqual(listFiles(join(fx.repo, ".dvc/cache")), cache);
    assert.deepEqual(readFileSync(join(fx.repo, "dvc.lock")), lock);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save Git-ignores a new stage's output as DVC does, and refuses an output Git tracks", async () => {
  const fx = await fixtureCopy("save");
  try {
    appendFileSync(
      join(fx.repo, "dvc.yaml"),
      "  report:\n    cmd: python3 report.py\n    deps:\n    - metrics.json\n    outs:\n    - report.txt\n",
    );
    writeFileSync(join(fx.repo, "report.txt"), "report\n");
    const r = fx.dxp(["exp", "save", "-n", "with-report"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(
      readFileSync(join(fx.repo, ".gitignore"), "utf8"),
      "/features\n/model.bin\n/report.txt\n",
    );
    const files = fx.git(["ls-tree", "-r", "--name-only", expRef("with-report")]).split("\n");
    assert.ok(!files.includes("report.txt"));
    assert.equal(
      fx.git(["show", `${expRef("with-report")}:.gitignore`]),
      "/features\n/model.bin\n/report.txt\n",
    );
    assert.match(
      fx.git(["show", `${expRef("with-report")}:dvc.lock`]),
      / {2}report:\n {4}cmd: python3 report.py\n/,
    );
    assert.ok(
      existsSync(
        join(fx.repo, ".dvc/cache/files/md5", md5(join(fx.repo, "report.txt")).slice(0, 2)),
      ),
    );

    // An output Git tracks would put its bytes into the commit: refused, nothing saved.
    fx.git(["add", "-f", "report.txt"]);
    fx.git(["commit", "-qm", "track the report"]);
    const tracked = fx.dxp(["exp", "save", "-n", "tracked"]);
    assert.equal(tracked.code, 255);
    assert.equal(
      tracked.stderr,
      "ERROR: failed to save experiment - output 'report.txt' is already tracked by SCM (e.g. Git); stop tracking it with 'git rm -r --cached report.txt' and a commit, then save again\n",
    );
    assert.equal(
      fx.git(["for-each-ref", "--format=%(refname)", "refs/exps"]).includes("/tracked"),
      false,
    );
  } finally {
    await fx.cleanup();
  }
});
