import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseBundleHeader } from "../lib/git/bundle_read.ts";
import { BundleQuarantine } from "../lib/git/bundle_quarantine.ts";
import { storeCommitTree, storeExpCommits, storeIsAncestor } from "../lib/git/bundle_tree.ts";
import { type BundlePlan, planBundle, writeBundle } from "../lib/git/bundle_write.ts";
import { ObjectStore } from "../lib/git/pack/object_store.ts";
import { commitExps, commitFiles, expRef, g, initRepo } from "./helpers/git_repo.ts";
import { run, scratch } from "./helpers/tmp.ts";

/** main with two commits, and experiments exp-1, exp-2 on its tip. */
function makeRepo(dir: string) {
  const repo = initRepo(join(dir, "src"));
  const c1 = commitFiles(repo, { "a.txt": "1\n", "d/b.txt": "2\n" }, "one", 1700000000);
  const c2 = commitFiles(repo, { "a.txt": "11\n", "d/e/c.txt": "3\n" }, "two", 1700000010);
  const exps = commitExps(repo, c2, [
    { name: "exp-1", files: { "params.yaml": "lr: 1\n", "d/e/c.txt": "33\n" } },
    { name: "exp-2", files: { "params.yaml": "lr: 2\n" } },
  ]);
  return {
    repo,
    gitdir: join(repo, ".git"),
    c1,
    c2,
    e1: exps.get("exp-1")!,
    e2: exps.get("exp-2")!,
  };
}

async function bundleFile(plan: BundlePlan, path: string, store: ObjectStore) {
  const parts: Uint8Array[] = [];
  await writeBundle(plan, store, {
    write: (c) => {
      parts.push(c.slice());
      return Promise.resolve();
    },
  });
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

Deno.test("writeBundle() output passes git bundle verify and git fetch, with the baseline as prerequisite", async () => {
  const { dir, cleanup } = await scratch("dxp-bundle-");
  try {
    const { repo, gitdir, c2, e1, e2 } = makeRepo(dir);
    const store = ObjectStore.open(gitdir);
    const refs = [{ ref: expRef(c2, "exp-1"), oid: e1 }, { ref: expRef(c2, "exp-2"), oid: e2 }];
    const plan = await planBundle(gitdir, refs, [c2], store);
    assert.deepEqual(plan.prerequisites, [c2]);
    // Two commits, two root trees, d/ and d/e/ of exp-1, two params.yaml, exp-1's c.txt.
    const revList = g(["rev-list", "--objects", e1, e2, "--not", c2], repo).split("\n")
      .filter(Boolean).map((l) => l.slice(0, 40));
    assert.deepEqual([...plan.objects].sort(), [...new Set(revList)].sort());
    const file = await bundleFile(plan, join(dir, "x.bundle"), store);
    await store.close();
    const verify = run("git", ["bundle", "verify", file], { cwd: repo });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout + verify.stderr, new RegExp(`requires this ref:\\n${c2}`));
    // A clone at c2 fetches the experiments from it.
    const clone = join(dir, "clone");
    g(["clone", "-q", repo, clone], dir);
    g(["fetch", "-q", file, "refs/exps/*:refs/exps/*"], clone);
    assert.equal(g(["rev-parse", expRef(c2, "exp-2")], clone).trim(), e2);
    g(["fsck", "--full", "--strict"], clone);
    // Our header reader reads git's own bundles too (v2 and v3).
    for (const version of ["2", "3"]) {
      const own = join(dir, `git-v${version}.bundle`);
      g(
        ["bundle", "create", "-q", `--version=${version}`, own, expRef(c2, "exp-1"), `^${c2}`],
        repo,
      );
      const header = parseBundleHeader(readFileSync(own));
      assert.deepEqual(header.prerequisites, [c2]);
      assert.deepEqual(header.refs, [{ ref: expRef(c2, "exp-1"), oid: e1 }]);
      assert.equal(
        readFileSync(own).subarray(header.packOffset, header.packOffset + 4).toString(),
        "PACK",
      );
    }
  } finally {
    await cleanup();
  }
});

Deno.test("planBundle(): a ref the receiver has becomes a prerequisite and the pack may be empty; trees of haves count as present", async () => {
  const { dir, cleanup } = await scratch("dxp-bundle-");
  try {
    const { repo, gitdir, c2, e1, e2 } = makeRepo(dir);
    const store = ObjectStore.open(gitdir);
    const refs = [{ ref: expRef(c2, "exp-1"), oid: e1 }];
    const none = await planBundle(gitdir, refs, [c2, e1], store);
    assert.deepEqual(none.objects, []);
    assert.deepEqual(none.prerequisites, [e1]);
    const file = await bundleFile(none, join(dir, "empty.bundle"), store);
    assert.equal(run("git", ["bundle", "verify", "-q", file], { cwd: repo }).code, 0);
    // exp-2 next to exp-1 (which the receiver has): exp-2's params.yaml and its commit and
    // root tree only; d/ is the same as in c2.
    const next = await planBundle(gitdir, [{ ref: expRef(c2, "exp-2"), oid: e2 }], [c2, e1], store);
    assert.equal(next.objects.length, 3);
    await store.close();
  } finally {
    await cleanup();
  }
});

Deno.test("BundleQuarantine: objects are readable before promotion, an incomplete pack is refused and the repository's objects never change", async () => {
  const { dir, cleanup } = await scratch("dxp-bundle-");
  try {
    const { repo: source, gitdir: srcGit, c1, c2, e1 } = makeRepo(dir);
    const target = join(dir, "target");
    g(["clone", "-q", "--no-local", source, target], dir);
    const gitdir = join(target, ".git");
    const objectsBefore = () => readdirSync(join(gitdir, "objects"), { recursive: true }).sort();
    const before = objectsBefore();
    const store = ObjectStore.open(srcGit);
    const plan = await planBundle(srcGit, [{ ref: expRef(c2, "exp-1"), oid: e1 }], [c2], store);
    const bytes = readFileSync(await bundleFile(plan, join(dir, "x.bundle"), store));
    const pack = bytes.subarray(parseBundleHeader(bytes).packOffset);

    const q = await BundleQuarantine.open(gitdir);
    await q.addPack(pack);
    await q.checkConnected([e1], [c2]);
    const commits = await storeExpCommits(q.store(), e1, c2);
    assert.deepEqual(commits, [e1]);
    const tree = storeCommitTree(q.store(), e1);
    assert.equal(new TextDecoder().decode(await tree.readFile("d/e/c.txt")), "33\n");
    assert.deepEqual((await tree.listDir(""))!.map((e) => e.name).sort(), [
      "a.txt",
      "d",
      "params.yaml",
    ]);
    assert.equal(await storeIsAncestor(q.store(), c1, e1), true);
    assert.equal(await storeIsAncestor(q.store(), e1, c1), false);
    await q.dispose();
    assert.deepEqual(objectsBefore(), before);

    // The same pack without exp-1's blob: stored in quarantine, but not connected.
    const partial = {
      ...plan,
      objects: plan.objects.filter((o) => o !== blobOf(source, `${e1}:d/e/c.txt`)),
    };
    assert.equal(partial.objects.length, plan.objects.length - 1);
    const cut = readFileSync(await bundleFile(partial, join(dir, "cut.bundle"), store));
    await store.close();
    const q2 = await BundleQuarantine.open(gitdir);
    await q2.addPack(cut.subarray(parseBundleHeader(cut).packOffset));
    await assert.rejects(q2.checkConnected([e1], [c2]), /is missing/);
    await q2.dispose();
    assert.deepEqual(objectsBefore(), before);

    // Promoted: git sees the commit.
    const q3 = await BundleQuarantine.open(gitdir);
    await q3.addPack(pack);
    await q3.promote();
    await q3.dispose();
    assert.equal(g(["cat-file", "-t", e1], target).trim(), "commit");
    g(["fsck", "--full"], target);
  } finally {
    await cleanup();
  }
});

function blobOf(repo: string, spec: string): string {
  return g(["rev-parse", spec], repo).trim();
}
