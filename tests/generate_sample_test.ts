import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import {
  collectOuts,
  dirOid,
  objectsOfOuts,
  parseDirManifest,
  serializeDirManifest,
  workspaceTree,
} from "../lib/dvc/mod.ts";
import { objectKey, parseObjectKey } from "../lib/core/object_key.ts";
import { gitCommitTree } from "../lib/git/tree_reader.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { generateSample, type SampleInfo } from "../scripts/sample/generate.ts";
import { extractFixture, git, scratch } from "./helpers/tmp.ts";

const OPTIONS = { files: 12, fileSize: 300, bigFile: 3 * 1024 * 1024 + 7, experiments: 2 };

async function withSample(
  fn: (info: SampleInfo, tmp: string) => Promise<void> | void,
): Promise<void> {
  const tmp = await scratch();
  try {
    await fn(await generateSample(join(tmp.dir, "sample"), OPTIONS), tmp.dir);
  } finally {
    await tmp.cleanup();
  }
}

function cacheReader(info: SampleInfo) {
  return (oid: string) =>
    Promise.resolve(new Uint8Array(readFileSync(join(info.cacheDir, objectKey(oid, "md5")))));
}

Deno.test("generateSample() writes repositories that pass git fsck, with a clean work tree and the expected refs", async () => {
  await withSample((info) => {
    git(["fsck", "--full", "--strict"], info.repo);
    git(["fsck", "--full", "--strict"], info.originGit);
    assert.equal(git(["status", "--porcelain", "--ignored=no"], info.repo), "");
    const [b1, b2] = info.baselines;
    assert.equal(
      git(["log", "--format=%H %P %s", "main"], info.repo),
      `${b2!.sha} ${b1!.sha} baseline 2\n${b1!.sha}  baseline 1\n`,
    );
    const refs = git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], info.repo)
      .trim().split("\n");
    const expected = [
      ...info.experiments.map((e) => `${e.sha} ${e.ref}`),
      `${b2!.sha} refs/exps/exec/EXEC_HEAD`,
    ].sort();
    assert.deepEqual(refs.sort(), expected);
    assert.equal(info.experiments.length, 4);
    for (const exp of info.experiments) {
      assert.equal(
        exp.ref,
        `refs/exps/${exp.baseline.slice(0, 2)}/${exp.baseline.slice(2)}/${exp.name}`,
      );
      assert.equal(
        git(["rev-parse", `${exp.sha}^@`], info.repo).trim(),
        exp.baseline,
        "one parent: the baseline",
      );
    }
    assert.equal(
      git(["ls-remote", info.originGit], info.repo),
      `${b2!.sha}\tHEAD\n${b2!.sha}\trefs/heads/main\n`,
    );
    assert.equal(git(["rev-parse", "--abbrev-ref", "HEAD"], info.repo).trim(), "main");
    assert.deepEqual(readdirSync(info.dvcStore), []);
  });
});

Deno.test("generateSample() fills the cache with read-only objects that hash to their names, .dir ones byte-exact", async () => {
  await withSample((info) => {
    let dirs = 0;
    const files = readdirSync(info.cacheDir, { recursive: true, withFileTypes: true }).filter((d) =>
      d.isFile()
    );
    assert.equal(files.length, info.cacheObjects);
    for (const d of files) {
      const path = join(d.parentPath, d.name);
      const parsed = parseObjectKey(relative(info.cacheDir, path));
      assert.ok(parsed, path);
      assert.equal(statSync(path).mode & 0o777, 0o444, path);
      const bytes = new Uint8Array(readFileSync(path));
      if (parsed.oid.endsWith(".dir")) {
        assert.equal(dirOid(bytes), parsed.oid);
        assert.deepEqual(serializeDirManifest(parseDirManifest(bytes)), bytes);
        assert.equal(parseDirManifest(bytes).length, OPTIONS.files + 12);
        dirs++;
      } else {
        assert.equal(hashBytes(bytes, parsed.scheme), parsed.oid, path);
      }
    }
    assert.equal(dirs, 6, "one data_out per commit");
  });
});

Deno.test("collectOuts() finds the generated outputs in every commit and they reference exactly the reported objects", async () => {
  await withSample(async (info) => {
    const cache = {};
    const baselineKeys = new Map(info.baselines.map((b) => [b.sha, new Set(b.objects)]));
    for (const commit of [...info.baselines, ...info.experiments]) {
      const { outs, warnings } = await collectOuts(
        gitCommitTree(info.gitDir, commit.sha, "", cache),
      );
      assert.deepEqual(warnings, []);
      const shape = outs.map((o) => `${o.path}:${o.isDir}:${o.cache}:${o.push}:${o.scheme}`).sort();
      assert.deepEqual(shape, [
        "data/raw.csv:false:true:true:md5",
        "data_out:true:true:true:md5",
        "local_only.txt:false:true:false:md5",
        "metrics.json:false:false:true:md5",
        "model.bin:false:true:true:md5",
      ]);
      assert.equal(outs.find((o) => o.path === "model.bin")?.size, OPTIONS.bigFile);
      assert.equal(outs.find((o) => o.path === "data_out")?.nfiles, OPTIONS.files + 12);
      const set = await objectsOfOuts(outs, cacheReader(info), { push: true });
      assert.deepEqual(set.objects.map((o) => o.key).sort(), commit.objects);
      assert.equal(commit.objects.length, OPTIONS.files + 12 + 3);
    }
    for (const exp of info.experiments) {
      const fresh = exp.objects.filter((k) => !baselineKeys.get(exp.baseline)!.has(k));
      // A new model, a new summary, changed shards and the new .dir.
      assert.ok(fresh.length >= 4, `${exp.name} adds only ${fresh.length} objects`);
    }
  });
});

Deno.test("generateSample() leaves the work tree at baseline 2 with outputs matching dvc.lock", async () => {
  await withSample(async (info) => {
    const { outs, warnings } = await collectOuts(workspaceTree(info.repo));
    assert.deepEqual(warnings, []);
    for (const out of outs.filter((o) => !o.isDir)) {
      assert.equal(
        hashBytes(new Uint8Array(readFileSync(join(info.repo, out.path)))),
        out.hash,
        out.path,
      );
    }
    const dir = outs.find((o) => o.isDir)!;
    for (const entry of parseDirManifest(await cacheReader(info)(dir.hash))) {
      const bytes = new Uint8Array(readFileSync(join(info.repo, dir.path, entry.relpath)));
      assert.equal(hashBytes(bytes), entry.md5, entry.relpath);
    }
    const set = await objectsOfOuts(outs, cacheReader(info), { push: true });
    assert.deepEqual(set.objects.map((o) => o.key).sort(), info.baselines[1]!.objects);
  });
});

Deno.test("generateSample() mirrors the basic fixture's layout and file formats", async () => {
  await withSample((info, tmp) => {
    const fixture = join(extractFixture("basic", tmp), "repo");
    const files = (repo: string) => git(["ls-tree", "-r", "--name-only", "HEAD"], repo);
    assert.equal(files(info.repo), files(fixture));
    for (
      const same of [
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvc/config.local",
        ".dvcignore",
        ".gitignore",
        "data/.gitignore",
        "dvc.yaml",
      ]
    ) {
      assert.equal(
        readFileSync(join(info.repo, same), "utf8"),
        readFileSync(join(fixture, same), "utf8"),
        same,
      );
    }
    // Same YAML text once hashes, sizes and values that legitimately differ are masked.
    const mask = (text: string) =>
      text.replace(/[0-9a-f]{32}/g, "<md5>").replace(/(size|nfiles): \d+/g, "$1: <n>");
    for (const file of ["dvc.lock", "data/raw.csv.dvc"]) {
      assert.equal(
        mask(readFileSync(join(info.repo, file), "utf8")),
        mask(readFileSync(join(fixture, file), "utf8")),
        file,
      );
    }
    assert.match(
      readFileSync(join(info.repo, "metrics.json"), "utf8"),
      /^\{"acc": [\d.]+, "loss": [\d.]+, "rows": 5\}\n$/,
    );
  });
});

Deno.test("generateSample() is deterministic: the same options give the same commit SHAs", async () => {
  const tmp = await scratch();
  try {
    const small = { files: 3, fileSize: 10, bigFile: 100, experiments: 1 };
    const a = await generateSample(join(tmp.dir, "a"), small);
    const b = await generateSample(join(tmp.dir, "b"), small);
    const shas = (i: SampleInfo) => [...i.baselines, ...i.experiments].map((c) => c.sha);
    assert.deepEqual(shas(a), shas(b));
    await assert.rejects(generateSample(join(tmp.dir, "a"), small), /not empty/);
  } finally {
    await tmp.cleanup();
  }
});
