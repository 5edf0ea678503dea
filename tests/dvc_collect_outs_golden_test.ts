import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { collectOuts, type DvcOut, objectsOfOuts, workspaceTree } from "../lib/dvc/mod.ts";
import { gitCommitTree } from "../lib/git/tree_reader.ts";
import { objectKey } from "../lib/core/object_key.ts";
import type { HashScheme } from "../lib/util/object_hasher.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

const GOLDEN = new URL("./fixtures/golden/", import.meta.url).pathname;

interface GoldenObjects {
  file: string;
  commit?: string;
  keys: string[];
}

function readGolden(fixture: string): GoldenObjects[] {
  const dir = join(GOLDEN, fixture);
  return readdirSync(dir).filter((f) => /^objects-.*\.txt$/.test(f)).sort().map((file) => {
    const lines = readFileSync(join(dir, file), "utf8").split("\n");
    const commit = lines.map((l) => /^# experiment commit: ([0-9a-f]{40})$/.exec(l)?.[1]).find((
      c,
    ) => c);
    const keys = lines.filter((l) => l !== "" && !l.startsWith("#"));
    return commit === undefined ? { file, keys } : { file, commit, keys };
  });
}

function cacheReader(repo: string) {
  return (oid: string, scheme: HashScheme) => {
    try {
      return Promise.resolve(
        new Uint8Array(readFileSync(join(repo, ".dvc", "cache", objectKey(oid, scheme)))),
      );
    } catch {
      return Promise.resolve(undefined);
    }
  };
}

async function pushableKeys(outs: DvcOut[], repo: string): Promise<string[]> {
  const set = await objectsOfOuts(outs, cacheReader(repo), { push: true });
  assert.deepEqual(set.missingManifests, []);
  return set.objects.map((o) => o.key).sort();
}

for (const fixture of ["basic", "legacy"] as const) {
  Deno.test(`objectsOfOuts(collectOuts(commit)) equals the objects real DVC pushed for every ${fixture} experiment`, async () => {
    const tmp = await scratch();
    try {
      const repo = join(extractFixture(fixture, tmp.dir), "repo");
      const goldens = readGolden(fixture).filter((g) => g.commit !== undefined);
      assert.ok(goldens.length >= 2, "expected experiment goldens");
      const cache = {};
      for (const golden of goldens) {
        const tree = gitCommitTree(join(repo, ".git"), golden.commit!, "", cache);
        const { outs, warnings } = await collectOuts(tree);
        assert.deepEqual(warnings, [], golden.file);
        assert.deepEqual(await pushableKeys(outs, repo), golden.keys, golden.file);
      }
    } finally {
      await tmp.cleanup();
    }
  });
}

Deno.test("objectsOfOuts(collectOuts(workspace)) equals what `dvc push` uploaded for the basic workspace", async () => {
  const tmp = await scratch();
  try {
    const repo = join(extractFixture("basic", tmp.dir), "repo");
    const golden = readGolden("basic").find((g) => g.file === "objects-workspace-baseline2.txt");
    assert.ok(golden);
    const { outs, warnings } = await collectOuts(workspaceTree(repo));
    assert.deepEqual(warnings, []);
    assert.deepEqual(await pushableKeys(outs, repo), golden.keys);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("collectOuts() picks the legacy scheme per entry in the mixed legacy exp-y dvc.lock", async () => {
  const tmp = await scratch();
  try {
    const repo = join(extractFixture("legacy", tmp.dir), "repo");
    const exp = "9ff01485ee4bce2e277e106859db902af5840023";
    const { outs } = await collectOuts(gitCommitTree(join(repo, ".git"), exp));
    const summary = outs.map((o) =>
      `${o.stageFile}:${o.stage ?? "-"}:${o.path}:${o.scheme}:${o.hash}`
    ).sort();
    assert.deepEqual(summary, [
      "dvc.yaml:prepare:legacy_dir:md5-dos2unix:6a64541d8da8508ba856e8d3ced1be9b.dir",
      "dvc.yaml:prepare:notes.txt:md5-dos2unix:c91a9e327386f87c0ebdda4af7d20749",
      "dvc.yaml:train:result.txt:md5:f552c3c230ffd8cdef58b5afc6035716",
      "raw.txt.dvc:-:raw.txt:md5-dos2unix:6c7831c26f0d0a5f807006854aa682f4",
    ]);
    const dir = outs.find((o) => o.path === "legacy_dir");
    assert.equal(dir?.isDir, true);
    assert.equal(dir?.nfiles, 10);
    assert.equal(dir?.size, 1049209);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("collectOuts() reports flags of the basic fixture's outputs (push: false, cache: false)", async () => {
  const tmp = await scratch();
  try {
    const repo = join(extractFixture("basic", tmp.dir), "repo");
    const b2 = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
    const { outs } = await collectOuts(gitCommitTree(join(repo, ".git"), b2));
    const flags = Object.fromEntries(
      outs.map((o) => [o.path, `${o.cache}/${o.push}/${o.isDir}/${o.scheme}`]),
    );
    assert.deepEqual(flags, {
      "data/raw.csv": "true/true/false/md5",
      "data_out": "true/true/true/md5",
      "local_only.txt": "true/false/false/md5",
      "metrics.json": "false/true/false/md5",
      "model.bin": "true/true/false/md5",
    });
    // With push filtering off, push:false outputs take part (what DVC fetches).
    const all = await objectsOfOuts(outs, cacheReader(repo));
    assert.ok(all.objects.some((o) => o.oid === "f1645a117e02353a7d6e328682cf43b5"));
    assert.ok(
      !all.objects.some((o) => o.oid === "804842e9428a983c19f6a5f2d2db1839"),
      "cache:false never moves",
    );
  } finally {
    await tmp.cleanup();
  }
});
