import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectOuts, workspaceTree } from "../lib/dvc/mod.ts";
import { gitCommitTree } from "../lib/git/tree_reader.ts";
import { git, goldenEnv, scratch } from "./helpers/tmp.ts";

const H = "c".repeat(32);

/** A Git repository whose DVC project lives in `proj/`, with a symlink and a nested folder. */
function makeRepo(dir: string): string {
  const env = {
    ...goldenEnv(dir),
    GIT_AUTHOR_DATE: "1704067200 +0000",
    GIT_COMMITTER_DATE: "1704067200 +0000",
  };
  git(["init", "-q", "-b", "main", dir], dir, env);
  mkdirSync(join(dir, "proj", ".dvc"), { recursive: true });
  mkdirSync(join(dir, "proj", "sub"), { recursive: true });
  writeFileSync(join(dir, "proj", ".dvc", "config"), "");
  writeFileSync(join(dir, "proj", "sub", "a.dvc"), `outs:\n- md5: ${H}\n  hash: md5\n  path: a\n`);
  writeFileSync(join(dir, "outside.dvc"), `outs:\n- md5: ${H}\n  hash: md5\n  path: o\n`);
  symlinkSync("sub/a.dvc", join(dir, "proj", "link.dvc"));
  git(["add", "-A"], dir, env);
  git(["commit", "-q", "-m", "c"], dir, env);
  return git(["rev-parse", "HEAD"], dir, env).trim();
}

Deno.test("gitCommitTree() reads a commit's files below a DVC root in a subfolder, never following symlinks", async () => {
  const tmp = await scratch();
  try {
    const sha = makeRepo(tmp.dir);
    const tree = gitCommitTree(join(tmp.dir, ".git"), sha, "proj");
    assert.deepEqual((await tree.listDir(""))?.map((e) => `${e.name}:${e.type}`).sort(), [
      ".dvc:dir",
      "link.dvc:symlink",
      "sub:dir",
    ]);
    assert.match(new TextDecoder().decode(await tree.readFile("sub/a.dvc")), /path: a/);
    assert.equal(await tree.readFile("link.dvc"), undefined);
    assert.equal(await tree.readFile("sub"), undefined);
    assert.equal(await tree.readFile("nope/x"), undefined);
    assert.equal(await tree.listDir("sub/a.dvc"), undefined);
    assert.equal(await tree.listDir("missing"), undefined);
    const { outs } = await collectOuts(tree);
    assert.deepEqual(outs.map((o) => `${o.stageFile}:${o.path}`), ["sub/a.dvc:sub/a"]);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("workspaceTree() lists the work tree with the same entry kinds as the commit tree", async () => {
  const tmp = await scratch();
  try {
    makeRepo(tmp.dir);
    const tree = workspaceTree(join(tmp.dir, "proj"));
    assert.deepEqual((await tree.listDir(""))?.map((e) => `${e.name}:${e.type}`).sort(), [
      ".dvc:dir",
      "link.dvc:symlink",
      "sub:dir",
    ]);
    assert.equal(await tree.readFile("link.dvc"), undefined);
    assert.equal(await tree.listDir("missing"), undefined);
    const { outs } = await collectOuts(tree);
    assert.deepEqual(outs.map((o) => `${o.stageFile}:${o.path}`), ["sub/a.dvc:sub/a"]);
  } finally {
    await tmp.cleanup();
  }
});
