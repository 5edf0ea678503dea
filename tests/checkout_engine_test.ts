import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { checkout } from "../lib/engine/checkout/checkout.ts";
import type { CheckoutOptions } from "../lib/engine/checkout/types.ts";
import { serializeDirManifest } from "../lib/dvc/dir_manifest.ts";
import { DxpError } from "../lib/errors/mod.ts";
import { openProject } from "../lib/project/project.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { git, goldenEnv, scratch } from "./helpers/tmp.ts";

/** A small DVC project made by hand: git repo, `.dvc/`, cache objects, `.dvc` files. */
async function makeProject(config = "") {
  const tmp = await scratch("dxp-checkout-");
  const root = join(tmp.dir, "repo");
  const env = goldenEnv(tmp.dir);
  mkdirSync(join(root, ".dvc"), { recursive: true });
  git(["init", "-q"], root, env);
  writeFileSync(join(root, ".dvc", "config"), config);
  const objectPath = (oid: string) =>
    join(root, ".dvc", "cache", "files", "md5", oid.slice(0, 2), oid.slice(2));
  const put = (bytes: Uint8Array, oid: string) => {
    const path = objectPath(oid);
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) {
      writeFileSync(path, bytes);
      chmodSync(path, 0o444);
    }
    return oid;
  };
  const enc = new TextEncoder();
  const object = (text: string) => put(enc.encode(text), hashBytes(enc.encode(text)));
  const dirObject = (files: Record<string, string>) => {
    const bytes = serializeDirManifest(
      Object.entries(files).map(([relpath, text]) => ({ md5: object(text), relpath })),
    );
    return put(bytes, `${hashBytes(bytes)}.dir`);
  };
  const track = (path: string, oid: string, extra = "") => {
    const file = join(root, `${path}.dvc`);
    mkdirSync(dirname(file), { recursive: true });
    const name = path.split("/").pop();
    writeFileSync(file, `outs:\n- md5: ${oid}\n  hash: md5\n  path: ${name}\n${extra}`);
  };
  const read = (path: string) => readFileSync(join(root, path), "utf8");
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const run = (options: CheckoutOptions = {}) => checkout(openProject(root, env), options);
  return { ...tmp, root, env, objectPath, object, dirObject, track, read, write, run };
}

const DATA = { "a.txt": "a\n", "sub/b.txt": "b\n", "sub/deep/c.txt": "c\n" };

Deno.test("checkout() materialises file and directory outputs and reports them as added", async () => {
  const p = await makeProject();
  try {
    p.track("model.bin", p.object("weights\n"));
    p.track("data", p.dirObject(DATA));
    const result = await p.run();
    assert.deepEqual(result.added, ["data/", "model.bin"]);
    assert.deepEqual([result.modified, result.deleted, result.failed], [[], [], []]);
    assert.equal(p.read("model.bin"), "weights\n");
    assert.equal(p.read("data/sub/deep/c.txt"), "c\n");
    assert.equal(result.linked.reflink + result.linked.copy, 4);
    const again = await p.run();
    assert.deepEqual([again.added, again.modified], [[], []]);
    assert.equal(Object.values(again.linked).reduce((a, b) => a + b), 0);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() refuses to overwrite a changed file whose content is not in the cache", async () => {
  const p = await makeProject();
  try {
    p.track("model.bin", p.object("weights\n"));
    p.track("data", p.dirObject(DATA));
    await p.run();
    p.write("model.bin", "my own training run\n");
    p.write("data/a.txt", "edited\n");
    await assert.rejects(p.run(), (e: unknown) => {
      assert.ok(e instanceof DxpError);
      assert.equal(
        e.message,
        "Can't remove the following unsaved files without confirmation. Use `--force` to force.\n" +
          "data/a.txt\nmodel.bin",
      );
      assert.equal(e.exitCode, 255);
      return true;
    });
    assert.equal(p.read("model.bin"), "my own training run\n");
    assert.equal(p.read("data/a.txt"), "edited\n");
    const forced = await p.run({ force: true });
    assert.deepEqual(forced.modified, ["data/", "model.bin"]);
    assert.equal(p.read("model.bin"), "weights\n");
    assert.equal(p.read("data/a.txt"), "a\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() replaces a file whose content is in the cache without --force", async () => {
  const p = await makeProject();
  try {
    const v1 = p.object("version 1\n");
    const v2 = p.object("version 2\n");
    p.track("model.bin", v1);
    await p.run();
    p.track("model.bin", v2);
    const result = await p.run();
    assert.deepEqual(result.modified, ["model.bin"]);
    assert.equal(p.read("model.bin"), "version 2\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() removes files a directory output no longer has, unless they are unsaved", async () => {
  const p = await makeProject();
  try {
    p.object("stale\n");
    p.track("data", p.dirObject(DATA));
    await p.run();
    p.write("data/sub/stale.txt", "stale\n"); // content in the cache: safe to remove
    p.write("data/new/mine.txt", "mine\n"); // not in the cache: blocked
    await assert.rejects(p.run(), /unsaved files[^]*\ndata\/new\/mine\.txt$/);
    assert.ok(existsSync(join(p.root, "data/sub/stale.txt")));
    rmSync(join(p.root, "data/new"), { recursive: true });
    const result = await p.run();
    assert.deepEqual(result.modified, ["data/"]);
    assert.ok(!existsSync(join(p.root, "data/sub/stale.txt")));
    assert.deepEqual(readdirSync(join(p.root, "data")).sort(), ["a.txt", "sub"]);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() checks out the other outputs when objects are missing and reports the failed ones", async () => {
  const p = await makeProject();
  try {
    const present = p.object("present\n");
    const old = p.object("old version\n");
    p.track("ok.txt", present);
    p.track("gone.txt", old);
    await p.run();
    p.track("gone.txt", "0123456789abcdef0123456789abcdef");
    p.track("gone_dir", "fedcba9876543210fedcba9876543210.dir");
    rmSync(join(p.root, "ok.txt"));
    const result = await p.run();
    assert.deepEqual(result.failed, ["gone.txt", "gone_dir"]);
    assert.deepEqual(result.added, ["ok.txt"]);
    // The stale version (still in the cache) is removed, as DVC does.
    assert.ok(!existsSync(join(p.root, "gone.txt")));
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() skips push:false outputs missing from the cache with skipUnpushable", async () => {
  const p = await makeProject();
  try {
    const model = p.object("model\n");
    p.write(
      "dvc.yaml",
      "stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model.bin\n    - local.txt:\n        push: false\n",
    );
    p.write(
      "dvc.lock",
      `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: local.txt\n      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n    - path: model.bin\n      hash: md5\n      md5: ${model}\n`,
    );
    const strict = await p.run();
    assert.deepEqual(strict.failed, ["local.txt"]);
    const lenient = await p.run({ skipUnpushable: true });
    assert.deepEqual([lenient.failed, lenient.skipped], [[], ["local.txt"]]);
    assert.equal(p.read("model.bin"), "model\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() removes outputs no stage declares any more, but not changed ones", async () => {
  const p = await makeProject();
  try {
    p.track("old.bin", p.object("old\n"));
    p.track("olddir", p.dirObject(DATA));
    p.track("kept.bin", p.object("kept\n"));
    await p.run();
    rmSync(join(p.root, "old.bin.dvc"));
    rmSync(join(p.root, "olddir.dvc"));
    rmSync(join(p.root, "kept.bin.dvc"));
    p.write("kept.bin", "changed by the user\n");
    const result = await p.run();
    assert.deepEqual(result.deleted, ["old.bin", "olddir"]);
    assert.ok(!existsSync(join(p.root, "old.bin")) && !existsSync(join(p.root, "olddir")));
    assert.equal(p.read("kept.bin"), "changed by the user\n");
    assert.deepEqual((await p.run()).deleted, []);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() limits itself to targets: .dvc files, outputs, parts of a directory", async () => {
  const p = await makeProject();
  try {
    p.track("model.bin", p.object("weights\n"));
    p.track("data", p.dirObject(DATA));
    assert.deepEqual((await p.run({ targets: ["model.bin.dvc"] })).added, ["model.bin"]);
    assert.ok(!existsSync(join(p.root, "data")));
    const part = await p.run({ targets: ["data/sub/deep"] });
    assert.deepEqual(part.added, ["data/"]);
    assert.deepEqual(readdirSync(join(p.root, "data")), ["sub"]);
    assert.equal(p.read("data/sub/deep/c.txt"), "c\n");
    assert.ok(!existsSync(join(p.root, "data/sub/b.txt")));
    assert.deepEqual((await p.run({ targets: ["data"] })).modified, ["data/"]);
    assert.equal(p.read("data/a.txt"), "a\n");
    await assert.rejects(
      p.run({ targets: ["nothing-here"] }),
      (e: unknown) =>
        e instanceof DxpError && e.message === "Did you mean `git checkout nothing-here`?",
    );
    const sub = await p.run({ targets: ["model.bin"], cwd: join(p.root, "data") });
    assert.deepEqual(sub.added, []);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() finishes an interrupted run: leftover temp files go, done files are kept", async () => {
  const p = await makeProject();
  try {
    p.track("data", p.dirObject(DATA));
    p.write("data/a.txt", "a\n"); // finished before the interruption
    p.write("data/sub/.AAAAAAAAAAAAAAAAAAAAAA.tmp", "hal"); // a half-written temp file
    const result = await p.run();
    assert.deepEqual(result.modified, ["data/"]);
    assert.equal(result.linked.reflink + result.linked.copy, 2);
    assert.deepEqual(readdirSync(join(p.root, "data/sub")).sort(), ["b.txt", "deep"]);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() honours cache.type and --relink recreates files with the new type", async () => {
  const p = await makeProject();
  try {
    p.track("model.bin", p.object("weights\n"));
    p.track("data", p.dirObject(DATA));
    await p.run();
    const cacheFile = (text: string) => {
      const oid = hashBytes(new TextEncoder().encode(text));
      return join(p.root, ".dvc/cache/files/md5", oid.slice(0, 2), oid.slice(2));
    };
    assert.notEqual(statSync(join(p.root, "model.bin")).ino, statSync(cacheFile("weights\n")).ino);
    writeFileSync(join(p.root, ".dvc", "config"), "[cache]\n    type = hardlink\n");
    assert.equal(Object.values((await p.run()).linked).reduce((a, b) => a + b), 0);
    const relinked = await p.run({ relink: true });
    assert.equal(relinked.linked.hardlink, 4);
    assert.equal(statSync(join(p.root, "model.bin")).ino, statSync(cacheFile("weights\n")).ino);
    writeFileSync(join(p.root, ".dvc", "config"), "[cache]\n    type = symlink\n");
    await p.run({ relink: true });
    assert.ok(lstatSync(join(p.root, "data/a.txt")).isSymbolicLink());
    // A symlink into the cache counts as unchanged content.
    assert.deepEqual((await p.run()).modified, []);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() sets the exec bit of an isexec output and reads legacy (2.x) outputs", async () => {
  const p = await makeProject();
  try {
    const script = p.object("#!/bin/sh\n");
    p.track("run.sh", script, "  isexec: true\n");
    // A legacy entry (no `hash: md5`) lives at the cache root under its dos2unix md5.
    const crlf = new TextEncoder().encode("x\r\ny\r\n");
    const legacy = hashBytes(crlf, "md5-dos2unix");
    const legacyPath = join(p.root, ".dvc/cache", legacy.slice(0, 2), legacy.slice(2));
    mkdirSync(dirname(legacyPath), { recursive: true });
    writeFileSync(legacyPath, crlf);
    chmodSync(legacyPath, 0o444);
    p.write("notes.txt.dvc", `outs:\n- md5: ${legacy}\n  path: notes.txt\n`);
    const result = await p.run();
    assert.deepEqual(result.added, ["notes.txt", "run.sh"]);
    assert.ok((statSync(join(p.root, "run.sh")).mode & 0o100) !== 0);
    assert.equal(p.read("notes.txt"), "x\r\ny\r\n");
    rmSync(join(p.root, ".dvc/tmp"), { recursive: true }); // forget the stamps: re-hash
    assert.deepEqual((await p.run()).modified, []);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() replaces a folder where a file output goes and a file where a folder goes", async () => {
  const p = await makeProject();
  try {
    p.object("old\n");
    p.track("model.bin", p.object("weights\n"));
    p.track("data", p.dirObject(DATA));
    p.write("model.bin/leftover.txt", "old\n");
    p.write("data", "old\n");
    const result = await p.run();
    assert.deepEqual(result.modified, ["data/", "model.bin"]);
    assert.equal(p.read("model.bin"), "weights\n");
    assert.equal(p.read("data/a.txt"), "a\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() over a directory output in the workspace refuses a .dir object that does not hash to its name, and changes nothing", async () => {
  const p = await makeProject();
  try {
    const oid = p.dirObject(DATA);
    p.track("data", oid);
    await p.run();
    // The manifest is checked while the plan reads it: the fault surfaces at its end, before any write.
    const tampered = serializeDirManifest([
      { md5: p.object("replaced\n"), relpath: "a.txt" },
      { md5: p.object("b\n"), relpath: "sub/b.txt" },
    ]);
    const path = p.objectPath(oid);
    chmodSync(path, 0o644);
    writeFileSync(path, tampered);
    chmodSync(path, 0o444);
    await assert.rejects(p.run(), (e: unknown) => {
      assert.ok(e instanceof DxpError);
      assert.equal(
        e.message,
        `The '.dir' object '${oid}' does not hash to its name; delete 'files/md5/${
          oid.slice(0, 2)
        }/${oid.slice(2)}' and fetch it again.`,
      );
      return true;
    });
    assert.equal(p.read("data/a.txt"), "a\n");
    assert.equal(p.read("data/sub/deep/c.txt"), "c\n");
  } finally {
    await p.cleanup();
  }
});

/** The files below `dir` (relative), and nothing else. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((n) => statSync(join(dir, n)).isFile())
    .sort();
}

/** A pipeline stage with these outputs (path → oid): dvc.yaml and its dvc.lock. */
function stageOuts(p: { write(path: string, text: string): void }, outs: Record<string, string>) {
  const paths = Object.keys(outs);
  p.write(
    "dvc.yaml",
    `stages:\n  make:\n    cmd: make\n    outs:\n${paths.map((o) => `    - ${o}\n`).join("")}`,
  );
  p.write(
    "dvc.lock",
    `schema: '2.0'\nstages:\n  make:\n    cmd: make\n    outs:\n${
      paths.map((o) => `    - path: ${o}\n      hash: md5\n      md5: ${outs[o]}\n`).join("")
    }`,
  );
}

Deno.test("checkout() of new directory outputs reads each manifest once, while it builds the output aside: a bad one stops everything before anything changed", async () => {
  const p = await makeProject();
  try {
    const good = p.dirObject(DATA);
    // A .dir object whose bytes were changed, and a well-formed one listing `a` both as a file and a folder.
    const tamperedOid = p.dirObject({ "x.txt": "x\n", "y/z.txt": "z\n" });
    const tamperedPath = p.objectPath(tamperedOid);
    chmodSync(tamperedPath, 0o644);
    writeFileSync(
      tamperedPath,
      serializeDirManifest([{ md5: p.object("x\n"), relpath: "x.txt" }]),
    );
    chmodSync(tamperedPath, 0o444);
    const conflicting = p.dirObject({ "a": "file\n", "a/b.txt": "under\n" });
    // Good new outputs in folders not made yet (built first: stage outputs
    // come before .dvc files), then the bad one.
    stageOuts(p, { "mm/deep/one": good, "mm/deep/two": p.dirObject({ "q.txt": "q\n" }) });
    p.track("model.bin", p.object("weights\n"));
    p.object("old\n"); // so the file output may be replaced without --force
    for (
      const [oid, message] of [
        [tamperedOid, /does not hash to its name/],
        [conflicting, /lists a path both as a file and as a folder/],
      ] as const
    ) {
      p.track("zz", oid);
      p.write("model.bin", "old\n");
      // The workspace, not Git's nor dxp's own records (.dvc/tmp).
      const workspace = () =>
        filesBelow(p.root).filter((n) => !n.startsWith(".git/") && !n.startsWith(".dvc/tmp/"));
      const before = workspace();
      await assert.rejects(p.run(), (e: unknown) => {
        assert.ok(e instanceof DxpError, String(e));
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(workspace(), before);
      assert.equal(p.read("model.bin"), "old\n", "the file output not replaced");
      assert.equal(existsSync(join(p.root, "mm")), false, "the good builds and their folders gone");
      assert.deepEqual(readdirSync(p.root).filter((n) => n.startsWith(".zz.")), []);
    }
    // With a good manifest, every new output is placed.
    p.track("zz", p.dirObject({ "z.txt": "z\n" }));
    const result = await p.run({ force: true });
    assert.deepEqual(result.added, ["mm/deep/one/", "mm/deep/two/", "zz/"]);
    assert.deepEqual(result.modified, ["model.bin"]);
    assert.equal(p.read("mm/deep/two/q.txt"), "q\n");
    assert.equal(p.read("mm/deep/one/sub/deep/c.txt"), "c\n");
    assert.equal(p.read("zz/z.txt"), "z\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() of a new directory output declared twice (a .dvc file and dvc.lock) builds and places it once", async () => {
  const p = await makeProject();
  try {
    const oid = p.dirObject(DATA);
    p.track("data", oid);
    stageOuts(p, { data: oid });
    const result = await p.run();
    assert.deepEqual(result.added, ["data/"]);
    assert.deepEqual(filesBelow(join(p.root, "data")), ["a.txt", "sub/b.txt", "sub/deep/c.txt"]);
    assert.deepEqual(readdirSync(p.root).filter((n) => n.startsWith(".data.")), []);
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() of a new directory output whose manifest DVC did not write (other spacing, unsorted) reads it whole and builds it", async () => {
  const p = await makeProject();
  try {
    const entries = [
      { md5: p.object("b\n"), relpath: "sub/b.txt" },
      { md5: p.object("a\n"), relpath: "a.txt" },
    ];
    const bytes = new TextEncoder().encode(JSON.stringify(entries, null, 1));
    const oid = `${hashBytes(bytes)}.dir`;
    const path = p.objectPath(oid);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    chmodSync(path, 0o444);
    p.track("data", oid);
    const progress: [number, number][] = [];
    const result = await p.run({ onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(result.added, ["data/"]);
    assert.deepEqual(filesBelow(join(p.root, "data")), ["a.txt", "sub/b.txt"]);
    assert.equal(p.read("data/sub/b.txt"), "b\n");
    // Counted as 0 from its bytes at first, told once read: the last report says 2 of 2.
    assert.deepEqual(progress.at(-1), [2, 2]);
    assert.deepEqual(readdirSync(p.root).filter((n) => n.startsWith(".data.")), []);
  } finally {
    await p.cleanup();
  }
});
