import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import process from "node:process";
import { fixtureCopy, sectionLines, workspaceFiles } from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import { dxp, DXP_BIN, goldenEnv, run, scratch } from "./helpers/tmp.ts";

const OUTPUTS = ["data_out", "model.bin", "data/raw.csv", "local_only.txt"];

/** The cache file of an output recorded in the basic fixture's dvc.lock / .dvc files. */
function cacheFileOf(repo: string, oid: string): string {
  return join(repo, ".dvc", "cache", "files", "md5", oid.slice(0, 2), oid.slice(2));
}

const MODEL_OID = "d27303159086e7fbaa4d53120facc576";
const RAW_OID = "16b4694244dad8ca4dc555ad9b5048f8";

Deno.test("dxp checkout restores deleted legacy outputs exactly as DVC did", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    for (const out of ["legacy_dir", "notes.txt", "result.txt", "raw.txt"]) {
      rmSync(join(fx.repo, out), { recursive: true });
    }
    const golden = readGolden("legacy", "checkout_after-delete");
    const result = fx.dxp(["checkout"]);
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.equal(result.stderr, golden.stderr);
    assert.deepEqual(
      workspaceFiles(fx.repo),
      sectionLines(golden.sections.get("after: workspace files (md5 mode path)")),
    );
    const again = fx.dxp(["checkout"]);
    assert.equal(again.code + again.stdout + again.stderr, "0");
  } finally {
    await fx.cleanup();
  }
});

for (const type of ["hardlink", "symlink", "default (reflink,copy)"] as const) {
  Deno.test(`dxp checkout with cache.type ${type} really uses it`, async () => {
    const fx = await fixtureCopy("basic");
    try {
      if (type !== "default (reflink,copy)") {
        appendFileSync(join(fx.repo, ".dvc", "config.local"), `[cache]\n    type = ${type}\n`);
      }
      for (const out of OUTPUTS) rmSync(join(fx.repo, out), { recursive: true });
      const result = fx.dxp(["checkout"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.equal(
        result.stdout,
        "A       data/raw.csv\nA       data_out/\nA       local_only.txt\nA       model.bin\n",
      );
      const model = join(fx.repo, "model.bin");
      const cached = cacheFileOf(fx.repo, MODEL_OID);
      if (type === "hardlink") {
        assert.equal(statSync(model).ino, statSync(cached).ino);
        assert.equal(
          statSync(join(fx.repo, "data/raw.csv")).ino,
          statSync(cacheFileOf(fx.repo, RAW_OID)).ino,
        );
        assert.equal(statSync(model).mode & 0o777, 0o444);
      } else if (type === "symlink") {
        assert.ok(lstatSync(model).isSymbolicLink());
        assert.equal(readlinkSync(model), cached);
      } else {
        // Our file systems cannot reflink: every file must be a clean, independent copy.
        assert.ok(lstatSync(model).isFile());
        assert.notEqual(statSync(model).ino, statSync(cached).ino);
        assert.equal(statSync(model).mode & 0o777, 0o644);
        assert.deepEqual(readFileSync(model), readFileSync(cached));
        const temps = readdirSync(fx.repo).filter((n) => n.endsWith(".tmp"));
        assert.deepEqual(temps, []);
      }
      // Whatever the link type, the content is what the lock file records.
      const golden = readGolden("basic", "exp-apply_exp-b"); // same data_out member names
      const names = sectionLines(golden.sections.get("after: workspace files (md5 mode path)"))
        .map((l) => l.split(" ").slice(2).join(" "))
        .filter((p) => p.startsWith("data_out/"));
      for (const name of names) assert.ok(existsSync(join(fx.repo, name)), name);
      const status = fx.dxp(["checkout"]);
      assert.equal(status.code + status.stdout + status.stderr, "0");
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp checkout does not overwrite a file the user changed unless --force", async () => {
  const fx = await fixtureCopy("basic");
  try {
    writeFileSync(join(fx.repo, "model.bin"), "my retrained model\n");
    const refused = fx.dxp(["checkout"]);
    assert.equal(refused.code, 255);
    assert.equal(refused.stdout, "");
    assert.equal(
      refused.stderr,
      "ERROR: Can't remove the following unsaved files without confirmation. Use `--force` to force.\nmodel.bin\n",
    );
    assert.equal(readFileSync(join(fx.repo, "model.bin"), "utf8"), "my retrained model\n");
    const forced = fx.dxp(["checkout", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, "M       model.bin\n");
    assert.deepEqual(
      readFileSync(join(fx.repo, "model.bin")),
      readFileSync(cacheFileOf(fx.repo, MODEL_OID)),
    );
    const relinked = fx.dxp(["checkout", "--relink", "model.bin"]);
    assert.equal(relinked.code, 0, relinked.stderr);
    assert.equal(relinked.stdout, "M       model.bin\nRelinked successfully\n");
    const unknown = fx.dxp(["checkout", "nope"]);
    assert.equal(unknown.code, 255);
    assert.match(unknown.stderr, /^ERROR: Did you mean `git checkout nope`\?/);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout sees a member of a directory output edited in place (same size) after no-op runs; -v names the stat call", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const folder = join(fx.repo, "data_out");
    const members = readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    assert.ok(members.length > 0);
    // The state records only files older than two seconds.
    const old = Date.now() / 1000 - 3600;
    for (const member of members) utimesSync(member, old, old);
    const first = fx.dxp(["checkout", "-v"]);
    assert.equal(first.code, 0, first.stderr);
    if (process.platform === "linux") {
      assert.match(first.stderr, /file stats by statx through libc/);
    }
    const noop = fx.dxp(["checkout"]);
    assert.equal(noop.code + noop.stdout + noop.stderr, "0");
    // Same size, other bytes, another mtime: only the stamp tells the file changed.
    const member = members[0]!;
    const bytes = readFileSync(member);
    const edited = Buffer.from(bytes.map((b) => b ^ 0x20));
    writeFileSync(member, edited);
    utimesSync(member, old + 1, old + 1);
    const refused = fx.dxp(["checkout"]);
    assert.equal(refused.code, 255, refused.stdout + refused.stderr);
    assert.equal(
      refused.stderr,
      "ERROR: Can't remove the following unsaved files without confirmation. Use `--force` to force.\n" +
        `${member.slice(fx.repo.length + 1)}\n`,
    );
    assert.deepEqual(readFileSync(member), edited);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout killed half-way through 3000 files of an output finishes on the next run", async () => {
  const tmp = await scratch("dxp-interrupt-");
  try {
    const sample = join(tmp.dir, "sample");
    const made = run(process.execPath, [
      "run",
      "-A",
      new URL("../scripts/generate_sample.ts", import.meta.url).pathname,
      sample,
      "--files",
      "3000",
    ], { cwd: new URL("..", import.meta.url).pathname });
    assert.equal(made.code, 0, made.stderr);
    const repo = join(sample, "repo");
    const env = goldenEnv(tmp.dir);
    const expected = workspaceFiles(repo);
    const shards = join(repo, "data_out", "shards");
    // The output is there but lacks its shards: they are written one by one,
    // each through a temp name (an output not there at all is built aside:
    // e2e_scale_test.ts kills that).
    rmSync(shards, { recursive: true });

    let partial = -1;
    for (let attempt = 0; attempt < 5 && partial < 0; attempt++) {
      const child = spawn(DXP_BIN, ["checkout"], { cwd: repo, env, stdio: "ignore" });
      let running = true;
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => {
          running = false;
          resolve(code);
        })
      );
      // Kill once 50 files are out (an event, however slow the machine); a checkout that
      // finished first is simply tried again.
      while (running && (existsSync(shards) ? readdirSync(shards).length : 0) <= 50) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill("SIGKILL");
      await exited;
      const done = existsSync(shards) ? readdirSync(shards).filter((n) => !n.endsWith(".tmp")) : [];
      if (done.length < 3000) partial = done.length;
      else rmSync(shards, { recursive: true });
    }
    assert.ok(partial >= 0, "the checkout was never caught half-way");
    // No output file is ever half-written under its real name.
    const names = readdirSync(shards).filter((n) => !n.endsWith(".tmp"));
    for (const name of names.slice(0, 200)) {
      assert.ok(statSync(join(shards, name)).size > 0, name);
    }
    const rerun = dxp(["checkout"], { cwd: repo, env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.stdout, "M       data_out/\n");
    assert.deepEqual(workspaceFiles(repo), expected);
    assert.deepEqual(readdirSync(shards).filter((n) => n.endsWith(".tmp")), []);
  } finally {
    await tmp.cleanup();
  }
});

/** `<md5> <path>` of the basic fixture's B2 workspace files under `prefix` (from a DVC golden). */
function goldenFilesUnder(prefix: string): string[] {
  const golden = readGolden("basic", "dvc-pull_targets_fresh-clone");
  return sectionLines(golden.sections.get("after: workspace files (md5 mode path)"))
    .map((line) => line.split(" "))
    .map(([md5, , ...path]) => `${md5} ${path.join(" ")}`)
    .filter((line) => line.slice(33).startsWith(prefix));
}

/** `<md5> <path>` of the files under `prefix` in the work tree. */
function filesUnder(repo: string, prefix: string): string[] {
  return workspaceFiles(repo)
    .map((line) => line.split(" "))
    .map(([md5, , ...path]) => `${md5} ${path.join(" ")}`)
    .filter((line) => line.slice(33).startsWith(prefix));
}

Deno.test("dxp checkout of paths inside a directory output materialises exactly the files under them", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const cases: [string[], string[]][] = [
      [["data_out/nested"], ["data_out/nested/"]],
      [["data_out/nested/level1.txt"], ["data_out/nested/level1.txt"]],
      [["data_out/nested/deep", "data_out/shards/part-01.csv"], [
        "data_out/nested/deep/",
        "data_out/shards/part-01.csv",
      ]],
      // A part and a part inside it: the outer one.
      [["data_out/nested", "data_out/nested/deep/level2.txt"], ["data_out/nested/"]],
    ];
    for (const [targets, prefixes] of cases) {
      rmSync(join(fx.repo, "data_out"), { recursive: true });
      const result = fx.dxp(["checkout", ...targets]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "A       data_out/\n", targets.join(" "));
      const want = prefixes.flatMap(goldenFilesUnder).sort();
      assert.ok(want.length > 0);
      assert.deepEqual(filesUnder(fx.repo, "data_out/").sort(), want, targets.join(" "));
    }
    // From inside the output, relative to the current folder; the rest of data_out stays.
    assert.equal(fx.dxp(["checkout", "data_out"]).code, 0);
    rmSync(join(fx.repo, "data_out", "shards"), { recursive: true });
    rmSync(join(fx.repo, "data_out", "nested"), { recursive: true });
    writeFileSync(join(fx.repo, "data_out", "keep.txt"), "not touched\n");
    const inside = fx.dxp(["checkout", "shards"], join(fx.repo, "data_out"));
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal(inside.stdout, "M       ./\n");
    assert.deepEqual(filesUnder(fx.repo, "data_out/shards/"), goldenFilesUnder("data_out/shards/"));
    assert.ok(!existsSync(join(fx.repo, "data_out", "nested")));
    assert.equal(readFileSync(join(fx.repo, "data_out", "keep.txt"), "utf8"), "not touched\n");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp pull of a path inside a directory output checks out exactly that path", async () => {
  const fx = await fixtureCopy("basic");
  try {
    rmSync(join(fx.repo, "data_out"), { recursive: true });
    const result = fx.dxp(["pull", "data_out/nested/level1.txt"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      filesUnder(fx.repo, "data_out/"),
      goldenFilesUnder("data_out/nested/level1.txt"),
    );
    const dir = fx.dxp(["pull", "data_out/nested"]);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(filesUnder(fx.repo, "data_out/"), goldenFilesUnder("data_out/nested/"));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout of unknown targets fails with DVC's error chain and changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    rmSync(join(fx.repo, "model.bin"));
    const before = workspaceFiles(fx.repo);
    const cases: [string[], string, string][] = [
      [
        ["checkout", "nope"],
        fx.repo,
        "ERROR: Did you mean `git checkout nope`?: 'nope' does not exist as an output or a stage name in 'dvc.yaml': Stage 'nope' not found inside 'dvc.yaml' file\n",
      ],
      [
        ["checkout", "model.bin", "train.py"],
        fx.repo,
        "ERROR: Did you mean `git checkout train.py`?: 'train.py' does not exist as an output or a stage name in 'dvc.yaml': Stage 'train.py' not found inside 'dvc.yaml' file\n",
      ],
      [
        ["checkout", "raw.csv.bak"],
        join(fx.repo, "data"),
        "ERROR: Did you mean `git checkout raw.csv.bak`?: 'raw.csv.bak' does not exist as an output or a stage name in 'dvc.yaml': 'dvc.yaml' does not exist\n",
      ],
      [
        ["checkout", "dvc.yaml:nope"],
        fx.repo,
        "ERROR: Stage 'nope' not found inside 'dvc.yaml' file\n",
      ],
      [
        ["checkout", "missing.dvc"],
        fx.repo,
        "ERROR: Did you mean `git checkout missing.dvc`?: 'missing.dvc' does not exist\n",
      ],
    ];
    for (const [args, cwd, stderr] of cases) {
      const result = fx.dxp(args, cwd);
      assert.equal(result.code, 255, args.join(" "));
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, stderr);
      assert.deepEqual(workspaceFiles(fx.repo), before, "model.bin was not checked out either");
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout without --force refuses a changed file and changes nothing; with -f it overwrites", async () => {
  const fx = await fixtureCopy("basic");
  try {
    writeFileSync(join(fx.repo, "model.bin"), "my retrained model\n");
    rmSync(join(fx.repo, "data_out"), { recursive: true });
    const before = workspaceFiles(fx.repo);
    const refused = fx.dxp(["checkout"]);
    assert.equal(refused.code, 255);
    assert.deepEqual(workspaceFiles(fx.repo), before, "data_out is not restored either");
    const forced = fx.dxp(["checkout", "-f"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, "M       model.bin\nA       data_out/\n");
    assert.deepEqual(
      readFileSync(join(fx.repo, "model.bin")),
      readFileSync(cacheFileOf(fx.repo, MODEL_OID)),
    );
    assert.deepEqual(filesUnder(fx.repo, "data_out/"), goldenFilesUnder("data_out/"));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp pull without -f refuses to overwrite a changed file; dxp pull -f overwrites it", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const model = join(fx.repo, "model.bin");
    writeFileSync(model, "my retrained model\n");
    const refused = fx.dxp(["pull"]);
    assert.equal(refused.code, 255, refused.stderr);
    assert.match(refused.stderr, /Use `--force` to force\.\nmodel\.bin\n$/);
    assert.equal(readFileSync(model, "utf8"), "my retrained model\n");
    const forced = fx.dxp(["pull", "-f"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^M {7}model\.bin\n/);
    assert.deepEqual(readFileSync(model), readFileSync(cacheFileOf(fx.repo, MODEL_OID)));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout --relink recreates every file with the link type cache.type now says", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const model = join(fx.repo, "model.bin");
    const member = join(fx.repo, "data_out", "nested", "level1.txt");
    const memberOid = goldenFilesUnder("data_out/nested/level1.txt")[0]!.slice(0, 32);
    const setType = (type: string) =>
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        `['remote "store"']\n    url = ../../dvcstore\n[cache]\n    type = ${type}\n`,
      );
    const copyInode = statSync(model).ino;
    setType("hardlink");
    // Without --relink a file whose content is right is left as it is.
    const plain = fx.dxp(["checkout"]);
    assert.equal(plain.code + plain.stdout + plain.stderr, "0");
    assert.equal(statSync(model).ino, copyInode);

    const relinked = fx.dxp(["checkout", "--relink"]);
    assert.equal(relinked.code, 0, relinked.stderr);
    assert.match(relinked.stdout, /Relinked successfully\n$/);
    assert.equal(statSync(model).ino, statSync(cacheFileOf(fx.repo, MODEL_OID)).ino);
    assert.equal(statSync(member).ino, statSync(cacheFileOf(fx.repo, memberOid)).ino);

    setType("symlink");
    assert.equal(fx.dxp(["checkout", "--relink"]).code, 0);
    assert.equal(readlinkSync(model), cacheFileOf(fx.repo, MODEL_OID));
    assert.equal(readlinkSync(member), cacheFileOf(fx.repo, memberOid));

    setType("copy");
    assert.equal(fx.dxp(["checkout", "--relink", "model.bin"]).code, 0);
    assert.ok(lstatSync(model).isFile());
    assert.notEqual(statSync(model).ino, statSync(cacheFileOf(fx.repo, MODEL_OID)).ino);
    assert.equal(statSync(model).mode & 0o777, 0o644);
    // Only the target was relinked.
    assert.ok(lstatSync(member).isSymbolicLink());
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout --allow-missing checks out what the cache has and exits 0; without it the same run exits 255 naming the rest", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    // Only model.bin's object comes into the cache.
    assert.equal(fx.dxp(["fetch", "model.bin"], clone).code, 0);
    const strict = fx.dxp(["checkout"], clone);
    assert.equal(strict.code, 255, strict.stderr);
    assert.match(strict.stderr, /^ERROR: Checkout failed for following targets:\n/);
    assert.match(strict.stderr, /^data_out$/m);
    assert.doesNotMatch(strict.stderr, /^model\.bin$/m);
    rmSync(join(clone, "model.bin"), { force: true });
    const allowed = fx.dxp(["checkout", "--allow-missing"], clone);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok(existsSync(join(clone, "model.bin")));
    assert.ok(!existsSync(join(clone, "data_out")));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout stops with one line, changing nothing, when its workspace state cannot be read", async () => {
  const fx = await fixtureCopy("basic");
  try {
    rmSync(join(fx.repo, "model.bin"));
    const state = join(fx.repo, ".dvc", "tmp", "dxp", "checkout-state.json");
    rmSync(state, { recursive: true, force: true });
    mkdirSync(join(state, "in-the-way"), { recursive: true });
    const result = fx.dxp(["checkout"]);
    assert.equal(result.code, 255, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^ERROR: Cannot read dxp's workspace state '.*checkout-state\.json' \(EISDIR\); remove it \(it is rebuilt\) and run the command again\.\n$/,
    );
    assert.equal(existsSync(join(fx.repo, "model.bin")), false, "nothing restored");
    rmSync(state, { recursive: true });
    const again = fx.dxp(["checkout"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(existsSync(join(fx.repo, "model.bin")), true);
  } finally {
    await fx.cleanup();
  }
});
