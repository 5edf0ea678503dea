import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { type Golden, readGolden } from "./helpers/golden.ts";
import { git, type RunResult } from "./helpers/tmp.ts";
import { trainByHand } from "./save_training.ts";

const B1 = "9e5fc868a70ae97f6c9b533e22e69a79ac996c6d";
const LB = "10f752265074c923e4713739faacbdace479d01b";

/** Files under .dvc/cache as `<mode> <path>`, as the goldens list them. */
function cacheFiles(repo: string): string[] {
  return listFiles(join(repo, ".dvc", "cache"), true);
}

function section(golden: Golden, match: (title: string) => boolean): string | undefined {
  for (const [title, body] of golden.sections) if (match(title)) return body;
  return undefined;
}

function lines(text: string | undefined): string[] {
  return (text ?? "").split("\n").filter((l) => l !== "");
}

/** The message of a raw commit object. */
function messageOf(raw: string): string {
  return raw.slice(raw.indexOf("\n\n") + 2);
}

/** Author/committer lines without their time stamps (DVC commits with the wall clock). */
function identities(raw: string): string[] {
  return raw.split("\n").filter((l) => /^(author|committer) /.test(l))
    .map((l) => l.replace(/ \d+ ([+-]\d{4})$/, " <time> $1"));
}

interface Expect {
  baseline: string;
  /** The name the experiment got (random ones differ from the golden's). */
  name?: string;
  /** Golden's experiment name, when ours differs (auto names). */
  goldenName?: string;
  /** Paths whose blob cannot match (content of a file the golden's setup did not record). */
  ownBlobs?: string[];
}

/**
 * Checks one command against a golden of `golden/save/`: exit code (DVC's
 * 1 is dxp's 255), stdout, stderr, HEAD, refs, the new cache files with
 * their modes and contents, `git status --short`, and for a new
 * experiment its tree (minus `.dvc/tmp/repro.dat`), message, identities,
 * parent and committed stage files.
 */
function expectGolden(
  fx: FixtureCopy,
  name: string,
  result: RunResult,
  cacheBefore: string[],
  expect: Expect,
): void {
  const golden = readGolden("save", name);
  const rename = (text: string) =>
    expect.goldenName === undefined || expect.name === undefined
      ? text
      : text.replaceAll(expect.goldenName, expect.name);
  assert.equal(result.code, golden.exitCode === 1 ? 255 : golden.exitCode, result.stderr);
  const goldenStdout = rename(golden.stdout);
  if (/^\{"ref": "[0-9a-f]{40}"\}$/m.test(goldenStdout)) {
    assert.match(result.stdout, /^Updating lock file 'dvc.lock'\n\{"ref": "[0-9a-f]{40}"\}\n$/);
  } else {
    assert.equal(result.stdout, goldenStdout);
  }
  assert.equal(result.stderr, golden.stderr);
  assert.equal(fx.git(["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
  assert.equal(fx.git(["rev-parse", "HEAD"]).trim(), expect.baseline);

  // Refs: DVC's minus EXEC_HEAD (a deliberate difference); experiment SHAs vary.
  const goldenRefs = lines(section(golden, (t) => t.startsWith("after: git for-each-ref")))
    .filter((l) => !l.endsWith(" refs/exps/exec/EXEC_HEAD"))
    .map((l) => rename(l).replace(/^[0-9a-f]{40}(?= refs\/exps\/..\/)/, "<exp>"));
  const ourRefs = lines(fx.git(["for-each-ref", "--format=%(objectname) %(refname)"]))
    .map((l) => l.replace(/^[0-9a-f]{40}(?= refs\/exps\/..\/)/, "<exp>"));
  assert.deepEqual(ourRefs.sort(), goldenRefs.sort());

  const added = cacheFiles(fx.repo).filter((f) => !cacheBefore.includes(f));
  assert.deepEqual(added, lines(section(golden, (t) => t.startsWith("after: files added to"))));
  for (const [title, body] of golden.sections) {
    const cat = /^after: cat \.dvc\/cache\/(\S+)/.exec(title);
    if (cat) assert.equal(readFileSync(join(fx.repo, ".dvc/cache", cat[1]!), "utf8"), body, title);
  }
  assert.equal(
    fx.git(["status", "--short"]),
    section(golden, (t) => t === "after: git status --short") ?? "",
  );
  assert.equal(fx.git(["stash", "list"]), "");

  if (expect.name === undefined) return;
  const ref = `refs/exps/${expect.baseline.slice(0, 2)}/${expect.baseline.slice(2)}/${expect.name}`;
  const goldenRef = `refs/exps/${expect.baseline.slice(0, 2)}/${expect.baseline.slice(2)}/${
    expect.goldenName ?? expect.name
  }`;
  const raw = fx.git(["cat-file", "commit", ref]);
  const goldenRaw = section(golden, (t) => t === `after: git cat-file -p ${goldenRef}`)!;
  assert.equal(messageOf(raw), messageOf(goldenRaw).replace(/\n$/, ""));
  assert.deepEqual(identities(raw), identities(goldenRaw));
  assert.equal(fx.git(["rev-parse", `${ref}^@`]).trim(), expect.baseline);
  const own = new Set(expect.ownBlobs ?? []);
  const tree = lines(fx.git(["ls-tree", "-r", ref])).filter((l) => !own.has(l.split("\t")[1]!));
  const goldenTree = lines(section(golden, (t) => t === `after: git ls-tree -r ${goldenRef}`))
    .filter((l) => !l.endsWith("\t.dvc/tmp/repro.dat") && !own.has(l.split("\t")[1]!));
  assert.ok(goldenTree.length > 10);
  assert.deepEqual(tree, goldenTree);
  let stageFiles = 0;
  for (const [title, body] of golden.sections) {
    const shown = /^after: git show (\S+):(\S+) \(exact bytes\)$/.exec(title);
    if (!shown || shown[1] !== goldenRef) continue;
    stageFiles++;
    assert.equal(fx.git(["show", `${ref}:${shown[2]}`]), body, title);
    // The work tree holds the same stage files as the commit.
    assert.equal(readFileSync(join(fx.repo, shown[2]!), "utf8"), body, shown[2]);
  }
  assert.ok(stageFiles >= 1, "the golden shows the committed dvc.lock");
  fx.git(["fsck", "--full", "--no-dangling"]);
}

function save(fx: FixtureCopy, args: string[]): { result: RunResult; before: string[] } {
  const before = cacheFiles(fx.repo);
  return { result: fx.dxp(args), before };
}

Deno.test("dxp exp save -n reproduces exp-save_named, _named_exists, _named_force and _named_exists_after-force", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { scale: 3, lr: "0.2" });
    let run = save(fx, ["exp", "save", "-n", "exp-save-1"]);
    expectGolden(fx, "exp-save_named", run.result, run.before, {
      baseline: B1,
      name: "exp-save-1",
    });
    const first = fx.git(["rev-parse", `refs/exps/9e/${B1.slice(2)}/exp-save-1`]).trim();

    run = save(fx, ["exp", "save", "-n", "exp-save-1"]);
    expectGolden(fx, "exp-save_named_exists", run.result, run.before, { baseline: B1 });
    assert.equal(fx.git(["rev-parse", `refs/exps/9e/${B1.slice(2)}/exp-save-1`]).trim(), first);

    trainByHand(fx.repo, { scale: 3, lr: "0.25" });
    run = save(fx, ["exp", "save", "-n", "exp-save-1", "-f"]);
    expectGolden(fx, "exp-save_named_force", run.result, run.before, {
      baseline: B1,
      name: "exp-save-1",
    });
    const forced = fx.git(["rev-parse", `refs/exps/9e/${B1.slice(2)}/exp-save-1`]).trim();
    assert.notEqual(forced, first);

    run = save(fx, ["exp", "save", "-n", "exp-save-1"]);
    expectGolden(fx, "exp-save_named_exists_after-force", run.result, run.before, {
      baseline: B1,
    });
    assert.equal(fx.git(["rev-parse", `refs/exps/9e/${B1.slice(2)}/exp-save-1`]).trim(), forced);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save without -n reproduces exp-save_auto-name with a random adjective-noun name", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.3" });
    const { result, before } = save(fx, ["exp", "save"]);
    const name = /Experiment has been saved as: ([a-z]{5}-[a-z]{4})\n/.exec(result.stdout)?.[1];
    assert.ok(name, result.stdout);
    expectGolden(fx, "exp-save_auto-name", result, before, {
      baseline: B1,
      name,
      goldenName: "chary-zila",
    });
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save -I reproduces exp-save_include-untracked: the file is committed, the other one warned about", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.4" });
    writeFileSync(join(fx.repo, "newfile.txt"), "included with -I\n");
    writeFileSync(join(fx.repo, "other-untracked.txt"), "left out\n");
    const { result, before } = save(fx, [
      "exp",
      "save",
      "-n",
      "x",
      "--include-untracked",
      "newfile.txt",
    ]);
    expectGolden(fx, "exp-save_include-untracked", result, before, {
      baseline: B1,
      name: "x",
      ownBlobs: ["newfile.txt"],
    });
    // The golden's newfile.txt content is not recorded: ours is committed byte for byte.
    assert.equal(
      fx.git(["show", `refs/exps/9e/${B1.slice(2)}/x:newfile.txt`]),
      "included with -I\n",
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save -m reproduces exp-save_message: the message is written verbatim", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.5" });
    const { result, before } = save(fx, ["exp", "save", "-n", "x", "-m", "my message"]);
    expectGolden(fx, "exp-save_message", result, before, { baseline: B1, name: "x" });
    const raw = fx.git(["cat-file", "commit", `refs/exps/9e/${B1.slice(2)}/x`]);
    assert.ok(raw.endsWith("\n\nmy message"), JSON.stringify(raw));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save reproduces exp-save_missing-output: DVC's error, nothing written", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.6" });
    rmSync(join(fx.repo, "model.bin"));
    const lock = readFileSync(join(fx.repo, "dvc.lock"));
    const { result, before } = save(fx, ["exp", "save", "-n", "y"]);
    expectGolden(fx, "exp-save_missing-output", result, before, { baseline: B1 });
    assert.deepEqual(readFileSync(join(fx.repo, "dvc.lock")), lock);
    assert.equal(fx.git(["for-each-ref", "refs/exps"]), "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save reproduces exp-save_unchanged: a commit is made, its tree is the baseline's", async () => {
  const fx = await fixtureCopy("save");
  try {
    const { result, before } = save(fx, ["exp", "save", "-n", "z"]);
    expectGolden(fx, "exp-save_unchanged", result, before, { baseline: B1, name: "z" });
    // DVC's tree differs from B1's only by .dvc/tmp/repro.dat, which dxp does not commit.
    assert.equal(
      fx.git(["rev-parse", `refs/exps/9e/${B1.slice(2)}/z^{tree}`]).trim(),
      fx.git(["rev-parse", `${B1}^{tree}`]).trim(),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save reproduces exp-save_dvc-added-modified: the .dvc file and the dep entry take the new md5", async () => {
  const fx = await fixtureCopy("save");
  try {
    appendFileSync(join(fx.repo, "data/raw.csv"), "4,40\n");
    const { result, before } = save(fx, ["exp", "save", "-n", "w"]);
    expectGolden(fx, "exp-save_dvc-added-modified", result, before, { baseline: B1, name: "w" });
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save with a stage target reproduces exp-save_target-train: only that entry changes", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { scale: 3, lr: "0.2" });
    const { result, before } = save(fx, ["exp", "save", "-n", "t", "train"]);
    expectGolden(fx, "exp-save_target-train", result, before, { baseline: B1, name: "t" });
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save --json reproduces exp-save_json, then exp-save_invalid-name and exp-save_invalid-name_dotdot", async () => {
  const fx = await fixtureCopy("save");
  try {
    trainByHand(fx.repo, { lr: "0.7" });
    let run = save(fx, ["exp", "save", "--json", "-n", "j"]);
    expectGolden(fx, "exp-save_json", run.result, run.before, { baseline: B1, name: "j" });
    const sha = fx.git(["rev-parse", `refs/exps/9e/${B1.slice(2)}/j`]).trim();
    assert.equal(run.result.stdout, `Updating lock file 'dvc.lock'\n{"ref": "${sha}"}\n`);
    run = save(fx, ["exp", "save", "-n", "bad/name"]);
    expectGolden(fx, "exp-save_invalid-name", run.result, run.before, { baseline: B1 });
    run = save(fx, ["exp", "save", "-n", "a..b"]);
    expectGolden(fx, "exp-save_invalid-name_dotdot", run.result, run.before, { baseline: B1 });
  } finally {
    await fx.cleanup();
  }
});

/**
 * legacy_status-before's setup: every `hash: md5` line removed from
 * dvc.lock and data/raw.csv.dvc, every cache object moved to the 2.x place
 * (0444), committed as LB with the golden's date.
 */
function makeLegacyBaseline(fx: FixtureCopy): void {
  for (const file of ["dvc.lock", "data/raw.csv.dvc"]) {
    const path = join(fx.repo, file);
    writeFileSync(path, readFileSync(path, "utf8").replace(/^ *hash: md5\n/gm, ""));
  }
  const files = join(fx.repo, ".dvc/cache/files/md5");
  for (const prefix of readdirSync(files)) {
    for (const name of readdirSync(join(files, prefix))) {
      const target = join(fx.repo, ".dvc/cache", prefix, name);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(join(files, prefix, name), target);
      chmodSync(target, 0o444);
    }
  }
  rmSync(join(fx.repo, ".dvc/cache/files"), { recursive: true });
  const date = { GIT_AUTHOR_DATE: "1704153600 +0000", GIT_COMMITTER_DATE: "1704153600 +0000" };
  git(["commit", "-qam", "legacy baseline"], fx.repo, { ...fx.env, ...date });
}

Deno.test("dxp exp save on a DVC 2.x baseline reproduces exp-save_legacy-lock_changed: a mixed lock", async () => {
  const fx = await fixtureCopy("save");
  try {
    makeLegacyBaseline(fx);
    assert.equal(fx.git(["rev-parse", "HEAD"]).trim(), LB, "legacy_status-before precondition");
    trainByHand(fx.repo, { lr: "0.2" });
    const { result, before } = save(fx, ["exp", "save", "-n", "legacy-1"]);
    expectGolden(fx, "exp-save_legacy-lock_changed", result, before, {
      baseline: LB,
      name: "legacy-1",
    });
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp save on an unchanged DVC 2.x baseline reproduces exp-save_legacy-lock_unchanged", async () => {
  const fx = await fixtureCopy("save");
  try {
    makeLegacyBaseline(fx);
    assert.equal(fx.git(["rev-parse", "HEAD"]).trim(), LB, "legacy_status-before precondition");
    const lock = createHash("md5").update(readFileSync(join(fx.repo, "dvc.lock"))).digest("hex");
    const { result, before } = save(fx, ["exp", "save", "-n", "legacy-0"]);
    expectGolden(fx, "exp-save_legacy-lock_unchanged", result, before, {
      baseline: LB,
      name: "legacy-0",
    });
    const after = createHash("md5").update(readFileSync(join(fx.repo, "dvc.lock"))).digest("hex");
    assert.equal(after, lock);
  } finally {
    await fx.cleanup();
  }
});
