import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { CorruptError, GitRemoteError } from "../lib/errors/mod.ts";
import { ObjectStore } from "../lib/git/pack/object_store.ts";
import { buildPack } from "../lib/git/pack/build_pack.ts";
import { objectsToSend } from "../lib/git/pack/objects_to_send.ts";
import { storePack } from "../lib/git/pack/store_pack.ts";
import { emptyPack } from "../lib/git/protocol/receive_pack.ts";
import { commitExp, commitFiles, g, initRepo, packObjectCount } from "./helpers/git_repo.ts";
import { run, scratch } from "./helpers/tmp.ts";

function revListObjects(repo: string, wants: string[], haves: string[]): Set<string> {
  const out = g(["rev-list", "--objects", ...wants, "--not", ...haves, "--"], repo);
  return new Set(out.split("\n").filter((l) => l !== "").map((l) => l.slice(0, 40)));
}

/** A repo with a 3-commit main branch (nested folders) and two experiments on its tip. */
function makeRepo(dir: string) {
  const repo = initRepo(join(dir, "src"));
  const c1 = commitFiles(
    repo,
    { "a.txt": "1\n", "d/b.txt": "2\n", "d/e/c.txt": "3\n" },
    "one",
    1700000000,
  );
  const c2 = commitFiles(repo, { "a.txt": "11\n", "x/y.txt": "same\n" }, "two", 1700000010);
  const c3 = commitFiles(repo, { "d/e/c.txt": "33\n" }, "three", 1700000020);
  const e1 = commitExp(
    repo,
    c3,
    "exp-1",
    { "params.yaml": "lr: 1\n", "d/e/c.txt": "333\n" },
    1700000100,
  );
  const e2 = commitExp(
    repo,
    c3,
    "exp-2",
    { "params.yaml": "lr: 2\n", "z.txt": "same\n" },
    1700000200,
  );
  return { repo, c1, c2, c3, e1, e2 };
}

Deno.test("objectsToSend() equals git rev-list --objects for full and bounded walks", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const { repo, c1, c2, c3, e1, e2 } = makeRepo(dir);
    const gitdir = join(repo, ".git");
    for (
      const [wants, haves] of [
        [[c3], []],
        [[e1, e2], [c3]],
        [[e1], [c1]],
        [[c3], [c2]],
        [[e1, e2], [e1]],
        [[c3], [c3]],
      ] as [string[], string[]][]
    ) {
      const ours = await objectsToSend(gitdir, wants, haves);
      assert.equal(new Set(ours).size, ours.length, "no duplicates");
      assert.deepEqual(
        new Set(ours),
        revListObjects(repo, wants, haves),
        `wants ${wants} haves ${haves}`,
      );
    }
  } finally {
    await cleanup();
  }
});

Deno.test("objectsToSend() sends only the new commit, its changed trees and blobs over a known baseline", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const { repo, c3, e2 } = makeRepo(dir);
    const ours = await objectsToSend(join(repo, ".git"), [e2], [c3]);
    // commit + root tree + params.yaml blob; z.txt's blob equals x/y.txt's, already present.
    assert.equal(ours.length, 3);
    assert.equal(ours[0], e2);
    // Haves the local repo does not know are ignored.
    const withUnknown = await objectsToSend(join(repo, ".git"), [e2], [c3, "f".repeat(40)]);
    assert.deepEqual(withUnknown, ours);
  } finally {
    await cleanup();
  }
});

Deno.test("buildPack() + storePack() round-trip into an empty repo that git fsck accepts", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const { repo, e1, e2 } = makeRepo(dir);
    const gitdir = join(repo, ".git");
    const oids = await objectsToSend(gitdir, [e1, e2], []);
    const pack = await buildPack(gitdir, oids);
    assert.equal(packObjectCount(pack), oids.length);
    const dest = initRepo(join(dir, "dest.git"), true);
    assert.deepEqual(await storePack(dest, pack), { objects: oids.length });
    g(["update-ref", "refs/heads/main", e1], dest);
    g(["update-ref", "refs/heads/other", e2], dest);
    assert.equal(run("git", ["fsck", "--full", "--strict"], { cwd: dest }).code, 0);
    const packDir = readdirSync(join(dest, "objects", "pack"));
    assert.equal(packDir.filter((f) => f.endsWith(".pack")).length, 1);
    assert.equal(packDir.filter((f) => f.endsWith(".idx")).length, 1);
    g(
      ["verify-pack", join(dest, "objects", "pack", packDir.find((f) => f.endsWith(".idx"))!)],
      dest,
    );
    assert.deepEqual(
      readdirSync(join(dest, "objects")).filter((f) => f.startsWith("incoming-")),
      [],
    );
  } finally {
    await cleanup();
  }
});

Deno.test("storePack() indexes a real git pack with ofs and ref deltas", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = initRepo(join(dir, "src"));
    const big = Array.from({ length: 400 }, (_, i) => `line ${i} of a file that deltas well\n`)
      .join("");
    commitFiles(repo, { "big.txt": big }, "one");
    const tip = commitFiles(repo, { "big.txt": big + "one more line\n" }, "two");
    for (const flag of ["--delta-base-offset", ""]) {
      const bytes = gitPack(
        repo,
        `git rev-list --objects ${tip} | git pack-objects --stdout ${flag}`,
      );
      const dest = initRepo(join(dir, `dest${flag}.git`), true);
      const { objects } = await storePack(dest, bytes);
      assert.equal(objects, packObjectCount(bytes));
      g(["update-ref", "refs/heads/main", tip], dest);
      assert.equal(run("git", ["fsck", "--full"], { cwd: dest }).code, 0);
      const idx = readdirSync(join(dest, "objects", "pack")).filter((f) => f.endsWith(".idx"));
      const verify = g(["verify-pack", "-v", join(dest, "objects", "pack", idx[0]!)], dest);
      assert.match(verify, /chain length = 1/, "the pack really holds deltas");
      // Our .idx is byte for byte the one git index-pack writes.
      const packFile = join(dest, "objects", "pack", idx[0]!.replace(/\.idx$/, ".pack"));
      g(["index-pack", "-o", join(dir, `git${flag}.idx`), packFile], dest);
      assert.deepEqual(
        readFileSync(join(dest, "objects", "pack", idx[0]!)),
        readFileSync(join(dir, `git${flag}.idx`)),
      );
      // Our reader resolves the same (ofs or ref) deltas.
      const store = ObjectStore.open(dest);
      try {
        for (
          const line of g(["cat-file", "--batch-all-objects", "--batch-check"], dest).trim().split(
            "\n",
          )
        ) {
          const [oid, type, size] = line.split(" ");
          const obj = await store.read(oid!);
          assert.deepEqual([obj.type, obj.data.length], [type, Number(size)]);
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    await cleanup();
  }
});

function gitPack(repo: string, script: string): Uint8Array {
  const out = run("sh", ["-c", `${script} | base64 -w0`], { cwd: repo });
  assert.equal(out.code, 0, out.stderr);
  return Uint8Array.from(atob(out.stdout), (c) => c.charCodeAt(0));
}

Deno.test("storePack() rejects truncated, corrupt and thin packs and leaves nothing behind", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = initRepo(join(dir, "src"));
    const big = Array.from({ length: 400 }, (_, i) => `line ${i}\n`).join("");
    const one = commitFiles(repo, { "big.txt": big }, "one");
    const two = commitFiles(repo, { "big.txt": big + "more\n" }, "two");
    const full = gitPack(repo, `git rev-list --objects ${two} | git pack-objects --stdout`);
    const thin = gitPack(
      repo,
      `printf '%s\\n^%s\\n' ${two} ${one} | git pack-objects --stdout --revs --thin`,
    );
    const dest = initRepo(join(dir, "dest.git"), true);
    const before = readdirSync(join(dest, "objects")).sort();
    const corrupt = full.slice();
    corrupt[40] = corrupt[40]! ^ 0xff;
    for (const bad of [full.subarray(0, full.length - 7), corrupt, new Uint8Array([1, 2, 3])]) {
      await assert.rejects(() => storePack(dest, bad), GitRemoteError);
    }
    // The thin pack's base (`one`'s blob) is in `dest`, yet a pack must stand alone.
    await storePack(
      dest,
      gitPack(repo, `git rev-list --objects ${one} | git pack-objects --stdout`),
    );
    await assert.rejects(
      () => storePack(dest, thin),
      (e: unknown) => e instanceof GitRemoteError && /is thin/.test(e.message),
    );
    const after = readdirSync(join(dest, "objects")).sort();
    assert.deepEqual(after, before);
    assert.equal(
      readdirSync(join(dest, "objects", "pack")).length,
      2,
      "only the one good pack + idx",
    );
    assert.equal(existsSync(join(dest, "objects", "pack")), true);
    assert.ok(readFileSync(join(dest, "HEAD"), "utf8").length > 0);
  } finally {
    await cleanup();
  }
});

Deno.test("storePack() stores nothing for an empty pack", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const dest = initRepo(join(dir, "dest.git"), true);
    const empty = emptyPack();
    assert.deepEqual(await storePack(dest, empty), { objects: 0 });
    assert.deepEqual(readdirSync(join(dest, "objects", "pack")), []);
  } finally {
    await cleanup();
  }
});

Deno.test("ObjectStore.read() returns what git cat-file does for loose, packed and deltified objects", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = initRepo(join(dir, "src"));
    let text = Array.from({ length: 300 }, (_, i) => `line ${i}\n`).join("");
    for (let i = 0; i < 6; i++) {
      text += `change ${i}\n`;
      commitFiles(repo, { "big.txt": text, [`f${i}.txt`]: `${i}\n` }, `c${i}`, 1700000000 + i);
    }
    g(["tag", "-a", "-m", "tagged", "v1"], repo);
    g(["gc", "-q", "--aggressive"], repo);
    commitFiles(repo, { "loose.txt": "loose\n" }, "loose", 1700000100);
    const all = g(
      ["cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"],
      repo,
    )
      .trim().split("\n").map((l) => l.split(" ") as [string, string]);
    const verify = g([
      "verify-pack",
      "-v",
      ...readdirSync(join(repo, ".git", "objects", "pack"))
        .filter((f) => f.endsWith(".idx")).map((f) => join(repo, ".git", "objects", "pack", f)),
    ], repo);
    assert.match(verify, /chain length = [1-9]/, "the pack holds deltas");
    const store = ObjectStore.open(join(repo, ".git"));
    try {
      for (const [oid, type] of all) {
        const obj = await store.read(oid);
        assert.equal(obj.type, type);
        const expected =
          run("sh", ["-c", `git cat-file ${type} ${oid} | base64 -w0`], { cwd: repo }).stdout;
        assert.equal(Buffer.from(obj.data).toString("base64"), expected, oid);
      }
      assert.equal(await store.tryRead("0".repeat(40)), undefined);
      assert.equal(await store.has(all[0]![0]), true);
      assert.equal(await store.has("1".repeat(40)), false);
      await assert.rejects(() => store.read("2".repeat(40)), CorruptError);
    } finally {
      await store.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("ObjectStore reads in parallel open each pack once: close() leaves no pack file open", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = initRepo(join(dir, "src"));
    for (let i = 0; i < 4; i++) {
      commitFiles(repo, { [`f${i}.txt`]: `${i}\n` }, `c${i}`, 1700000000 + i);
    }
    g(["gc", "-q"], repo);
    const oids = g(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], repo)
      .trim().split("\n");
    const openPacks = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(repo, ".git", "objects"));
        } catch {
          return false;
        }
      }).length;
    const store = ObjectStore.open(join(repo, ".git"));
    // Several first reads at once (exp show reads many commits so): one handle, not one each.
    const read = await Promise.all(oids.map((oid) => store.tryRead(oid)));
    assert.ok(read.every((obj) => obj !== undefined));
    await store.close();
    assert.equal(openPacks(), 0, "a pack handle outlived close()");
  } finally {
    await cleanup();
  }
});
