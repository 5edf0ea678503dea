/**
 * Large objects (16 MiB and more) between the cache and a local remote, on
 * the compiled binary: they are copied and hashed on the copying thread
 * beside the main thread, with the same guarantees as every object — bytes
 * identical both ways, a corrupt object refused with nothing of it left on
 * the remote and no experiment ref pushed.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildScaleRepo,
  cloneScaleRepo,
  gitEnv,
  removeScaleDir,
  scaleFileBytes,
  scaleRelpath,
  scaleScratchDir,
  setLocalRemote,
} from "./helpers/scale_repo.ts";
import { dxp, run } from "./helpers/tmp.ts";

const FILES = 3;
/** Just over the copying thread's threshold, and each a different length. */
const SIZE = 17 * 1024 * 1024 + 7;

/** Every object file under a cache or remote root, relative to it. */
function objectFiles(root: string): string[] {
  return (readdirSync(join(root, "files", "md5"), { recursive: true, encoding: "utf8" }))
    .filter((name) => name.length > 2)
    .sort();
}

function lsRemote(originGit: string): string {
  return run("git", ["ls-remote", originGit, "refs/exps/*"], { env: gitEnv() }).stdout;
}

Deno.test("large objects go to a local remote and back through the copying thread byte for byte", () => {
  const dir = scaleScratchDir("dxp-large-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), FILES, { fileSize: SIZE });
    const remote = join(dir, "remote");
    setLocalRemote(s.repo, remote);
    const cache = join(s.repo, ".dvc", "cache");

    const push = dxp(["exp", "push", "origin", s.exp], { cwd: s.repo });
    assert.equal(push.code, 0, push.stderr);
    assert.deepEqual(objectFiles(remote), objectFiles(cache));
    for (const name of objectFiles(cache)) {
      const there = join(remote, "files", "md5", name);
      assert.ok(readFileSync(there).equals(readFileSync(join(cache, "files", "md5", name))), name);
      assert.equal(statSync(there).mode & 0o777, 0o444, `${name} protected`);
    }
    assert.match(lsRemote(s.originGit), new RegExp(`\t${s.ref}\n`));

    const clone = cloneScaleRepo(s, join(dir, "clone"), remote);
    const pull = dxp(["pull"], { cwd: clone });
    assert.equal(pull.code, 0, pull.stderr);
    for (let i = 0; i < FILES; i++) {
      const file = join(clone, "data", ...scaleRelpath(i, 1000).split("/"));
      assert.deepEqual(new Uint8Array(readFileSync(file)), scaleFileBytes(i, SIZE), file);
    }
    assert.deepEqual(objectFiles(join(clone, ".dvc", "cache")), objectFiles(cache));
  } finally {
    removeScaleDir(dir);
  }
});

Deno.test("a corrupt large object in the cache is refused: not on the remote, no manifest, no ref", () => {
  const dir = scaleScratchDir("dxp-large-corrupt-");
  try {
    const s = buildScaleRepo(join(dir, "sample"), FILES, { fileSize: SIZE });
    const remote = join(dir, "remote");
    setLocalRemote(s.repo, remote);
    const objects = join(s.repo, ".dvc", "cache", "files", "md5");
    // File 1's object keeps its name and mode 0444 (trusted without a look) but not its bytes.
    const victim = objectFiles(join(s.repo, ".dvc", "cache")).find((name) => {
      const head = readFileSync(join(objects, name)).subarray(0, 20).toString();
      return head.startsWith("dxp scale file 1\n");
    })!;
    assert.ok(victim, "the object of file 1");
    const bytes = readFileSync(join(objects, victim));
    bytes[SIZE - 100] = 0x21;
    chmodSync(join(objects, victim), 0o644);
    writeFileSync(join(objects, victim), bytes);
    chmodSync(join(objects, victim), 0o444);

    const push = dxp(["exp", "push", "origin", s.exp], { cwd: s.repo });
    assert.notEqual(push.code, 0, "a push of corrupt data must fail");
    assert.match(push.stderr, new RegExp(`instead of '${victim.replace("/", "")}'`));
    assert.doesNotMatch(push.stderr, /\n\s+at /, "no stack trace");
    const there = existsSync(join(remote, "files", "md5")) ? objectFiles(remote) : [];
    assert.ok(!there.includes(victim), "the corrupt object is not on the remote");
    assert.deepEqual(there.filter((name) => name.endsWith(".dir")), [], "no manifest");
    assert.deepEqual(there.filter((name) => name.endsWith(".tmp")), [], "no temp file");
    assert.equal(lsRemote(s.originGit), "", "no experiment ref pushed");
  } finally {
    removeScaleDir(dir);
  }
});
