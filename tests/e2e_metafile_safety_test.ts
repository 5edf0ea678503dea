import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FixtureCopy, fixtureCopy } from "./helpers/fixture_repo.ts";
import { snapshot } from "./helpers/workspace_snapshot.ts";

const B2 = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
const MODEL_OID = "d27303159086e7fbaa4d53120facc576";

/** Everything a failed command must leave as it was: files (md5, mtime, inode), refs, index. */
function state(fx: FixtureCopy): unknown {
  return {
    files: [...snapshot(fx.repo)],
    refs: fx.git(["for-each-ref", "--format=%(refname) %(objectname)"]),
    status: fx.git(["status", "--porcelain", "--ignored"]),
    index: readFileSync(join(fx.repo, ".git", "index")).toString("hex"),
  };
}

/**
 * A real Git merge conflict in dvc.lock: `main` and a branch record
 * different hashes for model.bin; `git merge` leaves the markers in.
 */
function mergeConflictInLock(fx: FixtureCopy): number {
  const lock = join(fx.repo, "dvc.lock");
  const original = readFileSync(lock, "utf8");
  const edit = (md5: string, message: string) => {
    writeFileSync(lock, original.replace(`md5: ${MODEL_OID}`, `md5: ${md5}`));
    fx.git(["commit", "-q", "-am", message]);
  };
  fx.git(["checkout", "-q", "-b", "theirs"]);
  edit("11111111111111111111111111111111", "their model");
  fx.git(["checkout", "-q", "main"]);
  edit("22222222222222222222222222222222", "our model");
  assert.throws(() => fx.git(["merge", "-q", "theirs"]), /git merge -q theirs failed \(1\)/);
  const lines = readFileSync(lock, "utf8").split("\n");
  const marker = lines.findIndex((l) => l.startsWith("<<<<<<< ")) + 1;
  assert.ok(marker > 0, "git left conflict markers in dvc.lock");
  return marker;
}

const CONFLICT = (line: number) =>
  `ERROR: 'dvc.lock' is invalid (possible merge conflicts): line ${line}, column 1: ` +
  "Implicit keys need to be on a single line. Resolve the merge conflict and run the command again.\n";

Deno.test("dxp checkout with a merge conflict in dvc.lock stops with the file and line and changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    // A normal checkout first: the outputs are then recorded as written by dxp.
    assert.equal(fx.dxp(["checkout"]).code, 0);
    const marker = mergeConflictInLock(fx);
    const before = state(fx);
    const result = fx.dxp(["checkout"]);
    assert.equal(result.code, 255);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, CONFLICT(marker));
    assert.deepEqual(state(fx), before);
    // `--force` does not make a broken stage file readable.
    const forced = fx.dxp(["checkout", "--force"]);
    assert.equal(forced.code, 255);
    assert.equal(forced.stderr, CONFLICT(marker));
    assert.deepEqual(state(fx), before);
  } finally {
    await fx.cleanup();
  }
});

const BROKEN: { name: string; file: string; edit: (text: string) => string; error: string }[] = [
  {
    name: "dvc.yaml with conflict markers",
    file: "dvc.yaml",
    edit: (text) =>
      text.replace("  train:\n", "<<<<<<< HEAD\n  train:\n=======\n  fit:\n>>>>>>> b\n"),
    error:
      "ERROR: 'dvc.yaml' is invalid (possible merge conflicts): line 2, column 1: Implicit keys need to be on a single line. Resolve the merge conflict and run the command again.\n",
  },
  {
    name: "a .dvc file with an invalid md5",
    file: "data/raw.csv.dvc",
    edit: (text) => text.replace(/md5: [0-9a-f]{32}/, "md5: 16b4694244dad8"),
    error:
      "ERROR: 'data/raw.csv.dvc' is invalid: line 2: output 'raw.csv': invalid md5 '16b4694244dad8'. Correct it and run the command again.\n",
  },
  {
    name: "a .dvc file that is not YAML",
    file: "data/raw.csv.dvc",
    edit: (text) => text.replace("outs:\n", "outs: [\n"),
    error:
      "ERROR: 'data/raw.csv.dvc' is invalid: line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]. Correct it and run the command again.\n",
  },
  {
    name: "a dvc.lock output with a flag of the wrong type",
    file: "dvc.lock",
    edit: (text) =>
      text.replace(
        "    - path: model.bin\n      hash: md5\n",
        "    - path: model.bin\n      hash: 5\n",
      ),
    error:
      "ERROR: 'dvc.lock' is invalid: line 33: stage 'train' output 'model.bin': 'hash' must be a string. Correct it and run the command again.\n",
  },
];

for (const broken of BROKEN) {
  Deno.test(`dxp checkout and dxp pull with ${broken.name} stop with one line and change nothing`, async () => {
    const fx = await fixtureCopy("basic");
    try {
      assert.equal(fx.dxp(["checkout"]).code, 0);
      const path = join(fx.repo, broken.file);
      writeFileSync(path, broken.edit(readFileSync(path, "utf8")));
      const before = state(fx);
      for (const cwd of [fx.repo, join(fx.repo, "data")]) {
        const result = fx.dxp(["checkout"], cwd);
        assert.equal(result.code, 255, result.stderr);
        assert.equal(result.stdout, "");
        assert.equal(result.stderr, broken.error);
        assert.deepEqual(state(fx), before);
      }
      // pull = fetch + checkout: the checkout half refuses the same way.
      const pulled = fx.dxp(["pull"]);
      assert.equal(pulled.code, 255, pulled.stderr);
      assert.ok(pulled.stderr.endsWith(broken.error), pulled.stderr);
      assert.deepEqual(state(fx), before);
    } finally {
      await fx.cleanup();
    }
  });
}

/** Commits an edit as an experiment of B2 named `name`; HEAD, index and work tree are put back. */
function craftExperiment(fx: FixtureCopy, name: string, edit: () => void): string {
  fx.git(["checkout", "-q", "-b", "crafting"]);
  edit();
  fx.git(["commit", "-q", "-am", `crafted ${name}`]);
  const sha = fx.git(["rev-parse", "HEAD"]).trim();
  fx.git(["checkout", "-q", "main"]);
  fx.git(["branch", "-q", "-D", "crafting"]);
  fx.git(["update-ref", `refs/exps/c8/${B2.slice(2)}/${name}`, sha]);
  return sha;
}

Deno.test("dxp exp apply of an experiment whose dvc.lock has conflict markers changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    assert.equal(fx.dxp(["checkout"]).code, 0);
    const lock = join(fx.repo, "dvc.lock");
    let marker = 0;
    const sha = craftExperiment(fx, "broken", () => {
      const text = readFileSync(lock, "utf8").replace(
        `      md5: ${MODEL_OID}\n`,
        `<<<<<<< HEAD\n      md5: ${MODEL_OID}\n=======\n      md5: 5c166ab4d920487f8691e458808bbe0d\n>>>>>>> exp-b\n`,
      );
      marker = text.split("\n").indexOf("<<<<<<< HEAD") + 1;
      writeFileSync(lock, text);
    });
    // Uncommitted work that a half-done apply would stash or overwrite.
    writeFileSync(join(fx.repo, "params.yaml"), "lr: 0.7\nepochs: 3\n");
    writeFileSync(join(fx.repo, "model.bin"), "retrained\n");
    const before = state(fx);
    const result = fx.dxp(["exp", "apply", "broken"]);
    assert.equal(result.code, 255);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `ERROR: Cannot apply experiment 'broken' (nothing was changed): 'dvc.lock' is invalid (possible merge conflicts) in revision '${
        sha.slice(0, 7)
      }': line ${marker}, column 1: Implicit keys need to be on a single line.\n`,
    );
    assert.deepEqual(state(fx), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp apply over a workspace whose dvc.lock has conflict markers changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    assert.equal(fx.dxp(["checkout"]).code, 0);
    const marker = mergeConflictInLock(fx);
    const before = state(fx);
    const result = fx.dxp(["exp", "apply", "exp-b"]);
    assert.equal(result.code, 255);
    assert.equal(
      result.stderr,
      "ERROR: Cannot apply experiment 'exp-b' over a workspace whose stage files cannot be read (nothing was changed): " +
        CONFLICT(marker).slice("ERROR: ".length),
    );
    assert.deepEqual(state(fx), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp checkout keeps outputs dvc.yaml still declares when dvc.lock is gone; removes those no stage file declares", async () => {
  const fx = await fixtureCopy("basic");
  try {
    assert.equal(fx.dxp(["checkout"]).code, 0);
    // DVC's advice for a conflicted dvc.lock: drop it and run `dvc repro`.
    rmSync(join(fx.repo, "dvc.lock"));
    const before = state(fx);
    const result = fx.dxp(["checkout"]);
    assert.equal(result.code + result.stdout + result.stderr, "0");
    assert.deepEqual(state(fx), before);
    // A stage file that was read and no longer declares an output: that one goes (DVC's unused links).
    rmSync(join(fx.repo, "data", "raw.csv.dvc"));
    const dropped = fx.dxp(["checkout"]);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(dropped.stdout, "D       data/raw.csv\n");
    assert.ok(!existsSync(join(fx.repo, "data", "raw.csv")));
    assert.ok(existsSync(join(fx.repo, "model.bin")));
  } finally {
    await fx.cleanup();
  }
});
