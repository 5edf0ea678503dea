import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fixtureCopy, sectionLines, workspaceFiles } from "./helpers/fixture_repo.ts";
import { readGolden, sortedLines } from "./helpers/golden.ts";
import { git } from "./helpers/tmp.ts";

const B2 = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
const EXP_B = "1f9cc1479cd534fb1c92727d455a9202197ef021";
const APPLIED = "Changes for experiment 'exp-b' have been applied to your current workspace.\n";

const filesSection = (golden: ReturnType<typeof readGolden>) =>
  sectionLines(golden.sections.get("after: workspace files (md5 mode path)"));

Deno.test("dxp exp apply in a fresh clone restores exp-b's files as DVC did, skipping the push:false output", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    assert.equal(fx.dxp(["exp", "pull", "origin", "exp-b"], clone).code, 0);
    assert.equal(fx.dxp(["exp", "pull", "origin"], clone).code, 0);
    const golden = readGolden("basic", "exp-apply_exp-b_fresh-clone");
    const result = fx.dxp(["exp", "apply", "exp-b"], clone);
    // DVC exits 255 half-way here; we skip local_only.txt with one warning and finish.
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, APPLIED);
    assert.equal(
      result.stderr,
      "WARNING: 'local_only.txt' is not in the local cache and is never pushed ('push: false'); it was not checked out.\n",
    );
    assert.deepEqual(workspaceFiles(clone), filesSection(golden));
    assert.equal(
      fx.git(["status", "--short"], clone),
      golden.sections.get("after: git status --short"),
    );
    assert.equal(fx.git(["rev-parse", "HEAD"], clone).trim(), B2);
    const refs = fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], clone);
    assert.deepEqual(
      sortedLines(refs),
      sortedLines(
        golden.sections.get("after: git for-each-ref refs/exps")! +
          `${EXP_B} refs/exps/exec/EXEC_APPLY\n`,
      ),
    );
    // A plain checkout still says what DVC says about the missing push:false output.
    const after = readGolden("basic", "checkout_after-exp-apply_fresh-clone");
    const checkout = fx.dxp(["checkout"], clone);
    assert.equal(checkout.code, after.exitCode);
    assert.equal(checkout.stdout, after.stdout);
    assert.equal(checkout.stderr, after.stderr);
    assert.deepEqual(workspaceFiles(clone), filesSection(after));
    fx.git(["fsck", "--full"], clone);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply on the fixture repo matches DVC: files, git status, refs; checkout then changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const golden = readGolden("basic", "exp-apply_exp-b");
    const result = fx.dxp(["exp", "apply", "exp-b"]);
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.equal(result.stderr, golden.stderr);
    assert.equal(fx.git(["status", "--short"]), golden.sections.get("after: git status --short"));
    assert.deepEqual(workspaceFiles(fx.repo), filesSection(golden));
    assert.equal(
      fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"]),
      golden.sections.get("after: git for-each-ref refs/exps"),
    );
    const after = readGolden("basic", "checkout_after-exp-apply");
    const checkout = fx.dxp(["checkout"]);
    assert.equal(checkout.code, after.exitCode);
    assert.equal(checkout.stdout + checkout.stderr, after.stdout + after.stderr);
    assert.deepEqual(workspaceFiles(fx.repo), filesSection(after));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply picks the experiment of HEAD's baseline when the name exists on two baselines", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const golden = readGolden("basic", "exp-apply_exp-a_head-is-baseline2");
    const result = fx.dxp(["exp", "apply", "exp-a"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.equal(fx.git(["status", "--short"]), golden.sections.get("after: git status --short"));
    assert.deepEqual(workspaceFiles(fx.repo), filesSection(golden));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply fails with DVC's messages for ambiguous and unknown names, touching nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const unknown = readGolden("basic", "exp-apply_does-not-exist");
    const missing = fx.dxp(["exp", "apply", "does-not-exist"]);
    assert.equal(missing.code, unknown.exitCode);
    assert.equal(missing.stderr, unknown.stderr);
    const dated = {
      ...fx.env,
      GIT_AUTHOR_DATE: "1704240000 +0000",
      GIT_COMMITTER_DATE: "1704240000 +0000",
    };
    git(["commit", "-q", "--allow-empty", "-m", "baseline 3 (empty)"], fx.repo, dated);
    const golden = readGolden("basic", "exp-apply_exp-a_ambiguous");
    const result = fx.dxp(["exp", "apply", "exp-a"]);
    assert.equal(result.code, golden.exitCode);
    assert.deepEqual(sortedLines(result.stderr), sortedLines(golden.stderr));
    assert.equal(result.stdout, "");
    assert.equal(fx.git(["status", "--short"]), "");
    assert.equal(fx.git(["for-each-ref", "refs/exps/apply", "refs/exps/exec/EXEC_APPLY"]), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply of the legacy experiment in a fresh clone matches DVC, then checkout is a no-op", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const clone = fx.freshClone();
    assert.equal(fx.dxp(["exp", "pull", "origin", "exp-x"], clone).code, 0);
    const golden = readGolden("legacy", "exp-apply_exp-x_fresh-clone");
    const result = fx.dxp(["exp", "apply", "exp-x"], clone);
    assert.equal(result.code, golden.exitCode, result.stderr);
    assert.equal(result.stdout, golden.stdout);
    assert.equal(result.stderr, golden.stderr);
    assert.equal(
      fx.git(["status", "--short"], clone),
      golden.sections.get("after: git status --short"),
    );
    assert.deepEqual(workspaceFiles(clone), filesSection(golden));
    const after = readGolden("legacy", "checkout_after-exp-apply_fresh-clone");
    const checkout = fx.dxp(["checkout"], clone);
    assert.equal(checkout.code, after.exitCode);
    assert.equal(checkout.stdout + checkout.stderr, after.stdout + after.stderr);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply saves uncommitted and untracked changes in refs/exps/apply/stash so nothing is lost", async () => {
  const fx = await fixtureCopy("basic");
  try {
    writeFileSync(join(fx.repo, "params.yaml"), "lr: 0.9\nepochs: 30\n");
    writeFileSync(join(fx.repo, "notes.md"), "my notes\n");
    writeFileSync(join(fx.repo, "train.py"), "print('staged change')\n");
    fx.git(["add", "train.py"]);
    const result = fx.dxp(["exp", "apply", "exp-b"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, APPLIED);
    const stash = "refs/exps/apply/stash";
    assert.equal(fx.git(["show", `${stash}:params.yaml`]), "lr: 0.9\nepochs: 30\n");
    assert.equal(fx.git(["show", `${stash}^2:train.py`]), "print('staged change')\n");
    assert.equal(fx.git(["show", `${stash}^3:notes.md`]), "my notes\n");
    assert.equal(fx.git(["rev-parse", `${stash}^1`]).trim(), B2);
    assert.equal(fx.git(["rev-parse", "refs/exps/apply/ORIG_HEAD"]).trim(), B2);
    // The experiment's version won where it has the file; the index is HEAD's again.
    assert.equal(
      fx.git(["show", `${EXP_B}:params.yaml`]),
      readFileSync(join(fx.repo, "params.yaml"), "utf8"),
    );
    assert.equal(fx.git(["diff", "--cached", "--name-only"]), "");
    // Files the experiment does not have come back (DVC's _apply_difference).
    assert.equal(readFileSync(join(fx.repo, "notes.md"), "utf8"), "my notes\n");
    assert.equal(
      fx.git(["status", "--short"]),
      " M data/raw.csv.dvc\n M dvc.lock\n M metrics.json\n M params.yaml\n?? notes.md\n",
    );
    // git itself restores the saved state.
    fx.git(["reset", "-q", "--hard"]);
    fx.git(["clean", "-q", "-fd"]);
    assert.ok(!existsSync(join(fx.repo, "notes.md")));
    fx.git(["stash", "apply", "-q", "--index", stash]);
    assert.equal(readFileSync(join(fx.repo, "params.yaml"), "utf8"), "lr: 0.9\nepochs: 30\n");
    assert.equal(readFileSync(join(fx.repo, "notes.md"), "utf8"), "my notes\n");
    assert.equal(fx.git(["diff", "--cached", "--name-only"]), "train.py\n");
    fx.git(["fsck", "--full"]);
  } finally {
    await fx.cleanup();
  }
});

/** Commits the work tree's changes as an experiment of HEAD named `name`, then puts HEAD and the work tree back. */
function craftExperiment(
  fx: Awaited<ReturnType<typeof fixtureCopy>>,
  name: string,
  edit: () => void,
) {
  fx.git(["checkout", "-q", "-b", "crafting"]);
  edit();
  fx.git(["add", "-A"]);
  fx.git(["commit", "-q", "-m", `crafted ${name}`]);
  const sha = fx.git(["rev-parse", "HEAD"]).trim();
  fx.git(["checkout", "-q", "main"]);
  fx.git(["branch", "-q", "-D", "crafting"]);
  fx.git(["update-ref", `refs/exps/c8/${B2.slice(2)}/${name}`, sha]);
  return sha;
}

Deno.test("dxp exp apply writes Git files under .dvc/, removes deleted files and adds new ones", async () => {
  const fx = await fixtureCopy("basic");
  try {
    craftExperiment(fx, "tidy", () => {
      appendFileSync(join(fx.repo, ".dvc", "config"), "# tuned\n");
      rmSync(join(fx.repo, "train.py"));
      mkdirSync(join(fx.repo, "docs"));
      writeFileSync(join(fx.repo, "docs", "new.md"), "new\n");
    });
    const result = fx.dxp(["exp", "apply", "tidy"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(fx.git(["status", "--short"]), " M .dvc/config\n D train.py\n?? docs/\n");
    assert.match(readFileSync(join(fx.repo, ".dvc", "config"), "utf8"), /# tuned\n$/);
    assert.equal(readFileSync(join(fx.repo, "docs", "new.md"), "utf8"), "new\n");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply refuses to write data through a symlink the experiment commits", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const outside = join(fx.root, "outside");
    mkdirSync(outside);
    craftExperiment(fx, "evil", () => {
      symlinkSync(outside, join(fx.repo, "evil"));
      // model.bin's object is in the cache: a .dvc file aiming it through the link.
      writeFileSync(
        join(fx.repo, "payload.dvc"),
        "outs:\n- md5: d27303159086e7fbaa4d53120facc576\n  hash: md5\n  path: evil/payload.bin\n",
      );
    });
    const result = fx.dxp(["exp", "apply", "evil"]);
    assert.equal(result.code, 255);
    assert.equal(
      result.stderr,
      "ERROR: Refusing to write below 'evil': it is a symbolic link that leads out of the workspace.\n",
    );
    assert.deepEqual(readdirSync(outside), []);
    assert.equal(fx.git(["for-each-ref", "refs/exps/exec/EXEC_APPLY"]), "");
  } finally {
    await fx.cleanup();
  }
});

const STASH = "refs/exps/apply/stash";
const md5Of = (path: string) => createHash("md5").update(readFileSync(path)).digest("hex");
const cacheFile = (repo: string, oid: string) =>
  join(repo, ".dvc", "cache", "files", "md5", oid.slice(0, 2), oid.slice(2));

/** What `git stash list` prints, for any stash ref (it is `git log -g` of the ref; git shortens the name). */
const LISTED = "exps/apply/stash";
const stashList = (fx: Awaited<ReturnType<typeof fixtureCopy>>) =>
  fx.git(["log", "--format=%gd: %gs", "-g", "--first-parent", "-m", STASH]);

Deno.test("dxp exp apply saves outputs the user changed in the cache and the stash; git stash apply + dxp checkout brings them back", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const model = join(fx.repo, "model.bin");
    writeFileSync(model, "my retrained model\n");
    writeFileSync(join(fx.repo, "data_out", "summary.txt"), "my summary\n");
    writeFileSync(join(fx.repo, "data_out", "mine.txt"), "a file I added\n");
    const mine = md5Of(model);
    const result = fx.dxp(["exp", "apply", "exp-b"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, APPLIED);
    assert.equal(
      result.stderr,
      "Your changes to 'data_out', 'model.bin' were saved in the DVC cache and recorded in refs/exps/apply/stash; " +
        "to get them back: 'git stash apply refs/exps/apply/stash' on a clean work tree, then 'dxp checkout'.\n",
    );
    // The experiment's outputs are in the workspace…
    assert.equal(md5Of(model), "5c166ab4d920487f8691e458808bbe0d");
    assert.ok(!existsSync(join(fx.repo, "data_out", "mine.txt")));
    // …the user's bytes are protected objects in the cache…
    assert.equal(statSync(cacheFile(fx.repo, mine)).mode & 0o777, 0o444);
    assert.equal(readFileSync(cacheFile(fx.repo, mine), "utf8"), "my retrained model\n");
    assert.deepEqual(
      readdirSync(join(fx.repo, ".dvc", "cache", "files", "md5"), { recursive: true })
        .filter((n) => String(n).endsWith(".tmp")),
      [],
    );
    // …and the stash commit records them in dvc.lock (only those values changed).
    const diff = fx.git(["diff", "--numstat", `${STASH}^1`, STASH]);
    assert.equal(diff, "5\t5\tdvc.lock\n");
    assert.match(
      fx.git(["show", `${STASH}:dvc.lock`]),
      new RegExp(`md5: ${mine}\n      size: 19\n`),
    );
    assert.equal(stashList(fx), `${LISTED}@{0}: On main: dvc-exp-apply:${B2}:${EXP_B}:exp-b\n`);
    assert.doesNotMatch(fx.git(["fsck", "--full", "--no-dangling"]), /missing|broken/);

    fx.git(["reset", "-q", "--hard"]);
    fx.git(["stash", "apply", "-q", STASH]);
    const back = fx.dxp(["checkout"]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(readFileSync(model, "utf8"), "my retrained model\n");
    assert.equal(readFileSync(join(fx.repo, "data_out", "summary.txt"), "utf8"), "my summary\n");
    assert.equal(readFileSync(join(fx.repo, "data_out", "mine.txt"), "utf8"), "a file I added\n");
    assert.equal(fx.dxp(["checkout"]).stdout, "", "the restored workspace matches its dvc.lock");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply keeps earlier stashes reachable in the reflog of refs/exps/apply/stash", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const model = join(fx.repo, "model.bin");
    writeFileSync(model, "first try\n");
    assert.equal(fx.dxp(["exp", "apply", "exp-b"]).code, 0);
    const first = fx.git(["rev-parse", STASH]).trim();
    fx.git(["reset", "-q", "--hard"]);
    writeFileSync(join(fx.repo, "params.yaml"), "lr: 0.9\nepochs: 3\n");
    writeFileSync(model, "second try\n");
    assert.equal(fx.dxp(["exp", "apply", "exp-b"]).code, 0);
    const second = fx.git(["rev-parse", STASH]).trim();
    assert.notEqual(first, second);
    assert.equal(fx.git(["rev-parse", `${STASH}@{1}`]).trim(), first);
    assert.equal(
      stashList(fx),
      `${LISTED}@{0}: On main: dvc-exp-apply:${B2}:${EXP_B}:exp-b\n` +
        `${LISTED}@{1}: On main: dvc-exp-apply:${B2}:${EXP_B}:exp-b\n`,
    );
    assert.doesNotMatch(fx.git(["fsck", "--full", "--no-dangling"]), /missing|broken/);
    // Either stash gives its own workspace back.
    for (
      const [ref, text, params] of [[`${STASH}@{1}`, "first try\n", null], [
        STASH,
        "second try\n",
        "lr: 0.9\nepochs: 3\n",
      ]]
    ) {
      fx.git(["reset", "-q", "--hard"]);
      fx.git(["stash", "apply", "-q", ref!]);
      assert.equal(fx.dxp(["checkout"]).code, 0);
      assert.equal(readFileSync(model, "utf8"), text, ref!);
      if (params !== null) assert.equal(readFileSync(join(fx.repo, "params.yaml"), "utf8"), params);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply saves changed legacy outputs under legacy hashes; the stash brings them back byte for byte", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const notes = join(fx.repo, "notes.txt");
    const member = join(fx.repo, "legacy_dir", "sub", "h-crlf.txt");
    writeFileSync(notes, "mine\r\nagain\r\n");
    writeFileSync(member, "x\r\n");
    const result = fx.dxp(["exp", "apply", "exp-x"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^Your changes to 'legacy_dir', 'notes\.txt' were saved/);
    // Legacy entries stay legacy: dos2unix md5, objects at the cache root.
    const lock = fx.git(["show", `${STASH}:dvc.lock`]);
    const oid = /- path: notes\.txt\n {6}md5: ([0-9a-f]{32})\n {6}size: 13\n/.exec(lock)?.[1];
    assert.ok(oid, lock);
    const object = join(fx.repo, ".dvc", "cache", oid.slice(0, 2), oid.slice(2));
    assert.equal(readFileSync(object, "utf8"), "mine\r\nagain\r\n");
    assert.equal(statSync(object).mode & 0o777, 0o444);
    fx.git(["reset", "-q", "--hard"]);
    fx.git(["stash", "apply", "-q", STASH]);
    // result.txt holds exp-x's 3.x object: safe to overwrite though HEAD's entry is legacy.
    const back = fx.dxp(["checkout"]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, "M       legacy_dir/\nM       notes.txt\nM       result.txt\n");
    assert.equal(readFileSync(notes, "utf8"), "mine\r\nagain\r\n");
    assert.equal(readFileSync(member, "utf8"), "x\r\n");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply puts back only the stashed changes: a file the experiment deleted stays deleted", async () => {
  const fx = await fixtureCopy("basic");
  try {
    craftExperiment(fx, "no-train", () => rmSync(join(fx.repo, "train.py")));
    writeFileSync(join(fx.repo, "notes.md"), "my notes\n");
    const result = fx.dxp(["exp", "apply", "no-train"]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!existsSync(join(fx.repo, "train.py")));
    assert.equal(readFileSync(join(fx.repo, "notes.md"), "utf8"), "my notes\n");
    assert.equal(fx.git(["status", "--short"]), " D train.py\n?? notes.md\n");
  } finally {
    await fx.cleanup();
  }
});
