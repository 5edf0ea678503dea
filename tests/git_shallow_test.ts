import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CorruptError, LockError } from "../lib/errors/mod.ts";
import { firstParentChain, readParents, resolveRevision } from "../lib/git/revision.ts";
import { parseShallow, readShallow, shallowSet, updateShallow } from "../lib/git/shallow.ts";
import { commitFiles, g, initRepo } from "./helpers/git_repo.ts";
import { scratch } from "./helpers/tmp.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

async function withGitdir(fn: (gitdir: string, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await scratch("dxp-shallow-");
  try {
    const repo = initRepo(join(dir, "repo"));
    await fn(join(repo, ".git"), dir);
  } finally {
    await cleanup();
  }
}

Deno.test("updateShallow() writes sorted SHAs, applies removals and deletes the file when none remain", async () => {
  await withGitdir(async (gitdir) => {
    const file = join(gitdir, "shallow");
    assert.deepEqual(await readShallow(gitdir), new Set());
    await updateShallow(gitdir, { add: [C, A, C] });
    assert.equal(readFileSync(file, "utf8"), `${A}\n${C}\n`);
    const next = await updateShallow(gitdir, { add: [B], remove: [C] });
    assert.deepEqual(next, new Set([A, B]));
    assert.equal(readFileSync(file, "utf8"), `${A}\n${B}\n`);
    await updateShallow(gitdir, { remove: [A, B] });
    assert.equal(existsSync(file), false, "a complete repository has no shallow file");
    assert.equal(existsSync(`${file}.lock`), false);
  });
});

Deno.test("updateShallow() refuses while shallow.lock exists and leaves the file as it was", async () => {
  await withGitdir(async (gitdir) => {
    const file = join(gitdir, "shallow");
    writeFileSync(file, `${A}\n`);
    writeFileSync(`${file}.lock`, "");
    await assert.rejects(
      () => updateShallow(gitdir, { add: [B] }),
      (e: unknown) => e instanceof LockError && e.message.includes("shallow.lock"),
    );
    assert.equal(readFileSync(file, "utf8"), `${A}\n`);
    assert.ok(existsSync(`${file}.lock`), "someone else's lock is not ours to remove");
  });
});

Deno.test("parseShallow() rejects a line that is not a commit id", () => {
  assert.deepEqual(parseShallow(`${A}\n\n${B}\n`), new Set([A, B]));
  assert.throws(() => parseShallow(`${A}\nnot-a-sha\n`), CorruptError);
});

Deno.test("readParents()/firstParentChain() stop at a shallow commit; HEAD~N past it is unknown, as in git", async () => {
  await withGitdir(async (gitdir) => {
    const repo = join(gitdir, "..");
    const c1 = commitFiles(repo, { "a.txt": "1\n" }, "c1", 1700000000);
    const c2 = commitFiles(repo, { "a.txt": "2\n" }, "c2", 1700000010);
    const c3 = commitFiles(repo, { "a.txt": "3\n" }, "c3", 1700000020);
    assert.deepEqual(await firstParentChain(gitdir, c3, -1), [c3, c2, c1]);
    writeFileSync(join(gitdir, "shallow"), `${c2}\n`);
    const cache = {};
    assert.deepEqual(await readParents(gitdir, c2, cache), []);
    assert.deepEqual(await firstParentChain(gitdir, c3, 5, cache), [c3, c2]);
    assert.deepEqual([...await shallowSet(gitdir, cache)], [c2]);
    assert.equal(await resolveRevision(gitdir, "HEAD~1", cache), c2);
    await assert.rejects(() => resolveRevision(gitdir, "HEAD~2", cache), /unknown Git revision/);
    // git agrees: the shallow commit has no parents in its walks.
    assert.equal(g(["rev-list", "--count", "HEAD"], repo).trim(), "2");
  });
});
