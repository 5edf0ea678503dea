/**
 * `dxp exp export` / `dxp exp import` / `dxp exp have` on the binary, judged
 * by real git (`git bundle verify`, `git fetch FILE.bundle`, fsck), real tar
 * and DVC's goldens. The receiving clones are "air-gapped": their Git and
 * DVC remotes point at paths that do not exist.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  type FixtureCopy,
  fixtureCopy,
  listFiles,
  sectionLines,
  workspaceFiles,
} from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import { DXP_BIN, type FixtureName } from "./helpers/tmp.ts";
import { readTar } from "../lib/util/tar_read.ts";
import { TarWriter } from "../lib/util/tar_write.ts";

const B1 = "21f7f42d14aa43c823f2eb809f36b2453ef5d73b";
const EXP_B = "1f9cc1479cd534fb1c92727d455a9202197ef021";
const EXP_B_REF = `refs/exps/21/${B1.slice(2)}/exp-b`;
const APPLIED_B = "Changes for experiment 'exp-b' have been applied to your current workspace.\n";
const LOCAL_ONLY_WARNING =
  "WARNING: 'local_only.txt' is not in the local cache and is never pushed ('push: false'); it was not checked out.\n";

/** A fresh clone whose Git and DVC remotes lead nowhere (and the fixture's remotes are gone). */
function airGappedClone(fx: FixtureCopy, name = "clone"): string {
  const clone = join(fx.root, name);
  const origin = join(fx.root, "origin.git");
  fx.git(["clone", "-q", existsSync(origin) ? origin : `${origin}.unreachable`, clone], fx.root);
  fx.git(["remote", "set-url", "origin", join(fx.root, "no-such-origin.git")], clone);
  writeFileSync(
    join(clone, ".dvc", "config.local"),
    `['remote "store"']\n    url = ${join(fx.root, "no-such-store")}\n`,
  );
  return clone;
}

/** Hides the fixture's Git and DVC remotes so nothing can be fetched from them. */
function cutNetwork(fx: FixtureCopy): void {
  for (const name of ["origin.git", "dvcstore"]) {
    if (existsSync(join(fx.root, name))) {
      renameSync(join(fx.root, name), join(fx.root, `${name}.unreachable`));
    }
  }
}

/** `<sha> <ref>` of every experiment ref (internal ones left out). */
function expRefs(fx: FixtureCopy, repo: string): string[] {
  return fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], repo)
    .split("\n").filter((l) => / refs\/exps\/[0-9a-f]{2}\//.test(l));
}

function untar(file: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xf", file, "-C", dir]);
  return dir;
}

/** The DVC objects of an untarred export (everything outside dxp/). */
function objectFiles(dir: string): string[] {
  return listFiles(dir).filter((p) => !p.startsWith("dxp/"));
}

/** The paths of an `objects-*.txt` golden, and its experiment ref. */
function objectsGolden(fixture: FixtureName, name: string) {
  const text = readFileSync(
    new URL(`./fixtures/golden/${fixture}/${name}.txt`, import.meta.url),
    "utf8",
  );
  return {
    ref: /^# fixture: \w+, experiment ref: (\S+)$/m.exec(text)![1]!,
    objects: text.split("\n").filter((l) => l !== "" && !l.startsWith("#")),
  };
}

/** Everything an import may change: refs, Git packs and loose objects, cache, work tree, .dvc/tmp. */
function snapshot(fx: FixtureCopy, repo: string): Record<string, unknown> {
  const tmp = join(repo, ".dvc", "tmp");
  return {
    refs: fx.git(["for-each-ref", "--format=%(objectname) %(refname)"], repo),
    objects: listFiles(join(repo, ".git", "objects"), true),
    cache: listFiles(join(repo, ".dvc", "cache"), true),
    work: workspaceFiles(repo),
    status: fx.git(["status", "--short"], repo),
    tmp: existsSync(tmp) ? readdirSync(tmp).filter((n) => n !== "lock").sort() : [],
  };
}

/** Offset of a member's first data byte, from GNU tar's block numbers (`tar -tvR`). */
function dataOffset(file: string, member: string): number {
  const listing = execFileSync("tar", ["-tvRf", file], { encoding: "utf8" });
  const line = listing.split("\n").find((l) => l.endsWith(` ${member}`));
  assert.ok(line, `${member} in ${file}`);
  return (Number(/^block (\d+):/.exec(line)![1]) + 1) * 512;
}

function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(file, bytes);
}

/** Asserts a refusal: exit 255, nothing on stdout, exactly one `ERROR:` line on stderr. */
function assertRefused(result: { code: number; stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(result.code, 255, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^ERROR: [^\n]*\n$/);
  assert.match(result.stderr, pattern);
}

const GOLDENS: [FixtureName, string][] = [
  ["basic", "objects-exp-b"],
  ["basic", "objects-exp-a-baseline1"],
  ["basic", "objects-exp-a-baseline2"],
  ["basic", "objects-auto"],
  ["legacy", "objects-exp-x"],
  ["legacy", "objects-exp-y"],
];

for (const [fixture, name] of GOLDENS) {
  Deno.test(`dxp exp export of one experiment carries exactly DVC's objects, as a DVC remote lays them out (${fixture}/${name}.txt)`, async () => {
    const fx = await fixtureCopy(fixture);
    try {
      const golden = objectsGolden(fixture, name);
      const file = join(fx.root, "one.dxp");
      const result = fx.dxp(["exp", "export", golden.ref, "-o", file]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.match(
        result.stdout,
        /^Exported experiment \S+ to '.*one\.dxp'\.\n\d+ files exported\n$/,
      );
      const dir = untar(file, join(fx.root, "untarred"));
      assert.deepEqual(objectFiles(dir), golden.objects);
      for (const line of listFiles(dir, true).filter((l) => !l.includes(" dxp/"))) {
        assert.match(line, /^444 /, line);
      }
      // Byte for byte the cache's objects.
      for (const key of golden.objects) {
        assert.deepEqual(
          readFileSync(join(dir, key)),
          readFileSync(join(fx.repo, ".dvc", "cache", key)),
        );
      }
      // The manifest checks with sha256sum, and the bundle with git.
      execFileSync("sha256sum", ["-c", "manifest.json.sha256"], { cwd: join(dir, "dxp") });
      const verify = spawnSync(
        "git",
        ["bundle", "verify", join(dir, "dxp", "experiments.bundle")],
        {
          cwd: fx.repo,
          encoding: "utf8",
        },
      );
      assert.equal(verify.status, 0, verify.stderr);
      assert.match(verify.stdout, new RegExp(golden.ref));
    } finally {
      await fx.cleanup();
    }
  });
}

Deno.test("dxp exp import in an air-gapped clone: refs and cache exactly as exp pull's golden, then exp apply and checkout give the goldens' files", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "exp-b.dxp");
    assert.equal(fx.dxp(["exp", "export", "exp-b", "-o", file]).code, 0);
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const dir = untar(file, join(fx.root, "untarred"));
    const bundle = join(dir, "dxp", "experiments.bundle");
    // git itself accepts the bundle in the clone (its prerequisite B1 is there) and fetches from it.
    assert.equal(spawnSync("git", ["bundle", "verify", "-q", bundle], { cwd: clone }).status, 0);
    const other = join(fx.root, "git-fetched");
    fx.git(["clone", "-q", clone, other], fx.root);
    fx.git(["fetch", "-q", bundle, "refs/exps/*:refs/exps/*"], other);
    assert.equal(fx.git(["rev-parse", EXP_B_REF], other).trim(), EXP_B);

    const golden = readGolden("basic", "exp-pull_exp-b_fresh-clone");
    const result = fx.dxp(["exp", "import", file], clone);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `Pulled experiment exp-b from Git remote '${file}'.\n`);
    assert.equal(result.stderr, "");
    assert.equal(
      fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], clone),
      golden.sections.get("after: git for-each-ref refs/exps"),
    );
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sectionLines(golden.sections.get("after: files in .dvc/cache (mode path)")),
    );
    fx.git(["fsck", "--full", "--strict"], clone);
    assert.deepEqual(readdirSync(join(clone, ".dvc", "tmp")).filter((n) => n !== "lock"), []);

    const applyGolden = readGolden("basic", "exp-apply_exp-b_fresh-clone");
    const applied = fx.dxp(["exp", "apply", "exp-b"], clone);
    // As after exp pull: DVC fails on the push:false output; dxp skips it with one warning.
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, APPLIED_B);
    assert.equal(applied.stderr, LOCAL_ONLY_WARNING);
    assert.deepEqual(
      workspaceFiles(clone),
      sectionLines(applyGolden.sections.get("after: workspace files (md5 mode path)")),
    );
    assert.equal(
      fx.git(["status", "--short"], clone),
      applyGolden.sections.get("after: git status --short"),
    );
    const after = readGolden("basic", "checkout_after-exp-apply_fresh-clone");
    const checkout = fx.dxp(["checkout"], clone);
    assert.equal(checkout.code, after.exitCode);
    assert.equal(checkout.stdout, after.stdout);
    assert.equal(checkout.stderr, after.stderr);
    assert.deepEqual(
      workspaceFiles(clone),
      sectionLines(after.sections.get("after: workspace files (md5 mode path)")),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp import of the legacy fixture's experiment (2.x layout) then exp apply match DVC's fresh-clone goldens", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    const file = join(fx.root, "exp-x.dxp");
    assert.equal(fx.dxp(["exp", "export", "exp-x", "-o", file]).code, 0);
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const imported = fx.dxp(["exp", "import", file], clone);
    assert.equal(imported.code, 0, imported.stderr);
    const pull = readGolden("legacy", "exp-pull_exp-x_fresh-clone");
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache"), true),
      sectionLines(pull.sections.get("after: files in .dvc/cache (mode path)")),
    );
    const golden = readGolden("legacy", "exp-apply_exp-x_fresh-clone");
    const applied = fx.dxp(["exp", "apply", "exp-x"], clone);
    assert.equal(applied.code, golden.exitCode, applied.stderr);
    assert.equal(applied.stdout, golden.stdout);
    assert.deepEqual(
      workspaceFiles(clone),
      sectionLines(golden.sections.get("after: workspace files (md5 mode path)")),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp export -o - | dxp exp import - moves every experiment through a pipe; the second import changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const pipe = spawnSync(
      "bash",
      [
        "-c",
        `"$1" exp export -A -o - --cd "$2" | "$1" exp import - --cd "$3"`,
        "x",
        DXP_BIN,
        fx.repo,
        clone,
      ],
      { encoding: "utf8", env: fx.env },
    );
    assert.equal(pipe.status, 0, pipe.stderr);
    // The archive took stdout: export's own message went to stderr.
    assert.equal(
      pipe.stderr,
      "Exported experiment exp-a (21f7f42), exp-b, exp-a (c8eada1) and typed-gulf to standard output.\n51 files exported\n",
    );
    assert.equal(
      pipe.stdout,
      "Pulled experiment exp-a (21f7f42), exp-b, exp-a (c8eada1) and typed-gulf from Git remote '-'.\n",
    );
    assert.equal(expRefs(fx, clone).length, 4);
    assert.deepEqual(expRefs(fx, clone), expRefs(fx, fx.repo));
    // Every object the experiments need is now cached (exp pull -A from origin would give the same).
    const file = join(fx.root, "all.dxp");
    assert.equal(fx.dxp(["exp", "export", "-A", "-o", file]).code, 0);
    const dir = untar(file, join(fx.root, "untarred"));
    for (const key of objectFiles(dir)) {
      assert.equal(statSync(join(clone, ".dvc", "cache", key)).mode & 0o777, 0o444, key);
    }
    const before = snapshot(fx, clone);
    const again = fx.dxp(["exp", "import", file], clone);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "No experiments to pull.\n");
    assert.deepEqual(snapshot(fx, clone), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp import refuses a truncated file with one line and changes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "all.dxp");
    assert.equal(fx.dxp(["exp", "export", "-A", "-o", file]).code, 0);
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const whole = readFileSync(file);
    const before = snapshot(fx, clone);
    const inObject = dataOffset(file, "files/md5/e2/c865db4162bed963bfaa9ef6ac18f0") + 100;
    for (const cut of [inObject, whole.length - 2048, whole.length - 1024, whole.length - 1]) {
      const short = join(fx.root, `cut-${cut}.dxp`);
      writeFileSync(short, whole.subarray(0, cut));
      const result = fx.dxp(["exp", "import", short], clone);
      assertRefused(result, /cannot be imported: it is truncated .*; nothing was imported\.$/m);
      assert.deepEqual(snapshot(fx, clone), before, `cut at ${cut}`);
    }
    const quiet = fx.dxp(["exp", "import", join(fx.root, `cut-${inObject}.dxp`), "-q"], clone);
    assert.equal(quiet.code, 255);
    assert.equal(quiet.stdout + quiet.stderr, "");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp import refuses a flipped byte in an object, naming the object; nothing changed", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "exp-b.dxp");
    assert.equal(fx.dxp(["exp", "export", "exp-b", "-o", file]).code, 0);
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const key = "files/md5/e2/c865db4162bed963bfaa9ef6ac18f0"; // data_out/binary.dat, bytes 0..255
    flipByte(file, dataOffset(file, key) + 7);
    const before = snapshot(fx, clone);
    const result = fx.dxp(["exp", "import", file], clone);
    assertRefused(
      result,
      new RegExp(`its member '${key}' is corrupt: its md5 is [0-9a-f]{32}; nothing was imported`),
    );
    assert.deepEqual(snapshot(fx, clone), before);
    // The same flip in the bundle is caught by the manifest's sha256.
    assert.equal(fx.dxp(["exp", "export", "exp-b", "-o", file]).code, 0);
    flipByte(file, dataOffset(file, "dxp/experiments.bundle") + 300);
    const bundle = fx.dxp(["exp", "import", file], clone);
    assertRefused(
      bundle,
      /its member 'dxp\/experiments\.bundle' is corrupt: it differs from the manifest's size and sha256/,
    );
    assert.deepEqual(snapshot(fx, clone), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp export / import of a member bigger than 1 MiB (read in several chunks): manifest sha256 and cache bytes exact, a flipped byte refused by its md5", async () => {
  const fx = await fixtureCopy("basic");
  try {
    assert.equal(fx.dxp(["checkout"]).code, 0);
    // 5 MiB + 3 bytes: several 1 MiB chunks and a short last one.
    const model = Buffer.alloc(5 * 1024 * 1024 + 3);
    for (let i = 0; i + 4 <= model.length; i += 4) model.writeUInt32LE((i * 2654435761) >>> 0, i);
    rmSync(join(fx.repo, "model.bin"), { force: true });
    writeFileSync(join(fx.repo, "model.bin"), model);
    const saved = fx.dxp(["exp", "save", "-n", "big"]);
    assert.equal(saved.code, 0, saved.stderr);
    const md5 = createHash("md5").update(model).digest("hex");
    const key = `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;

    const file = join(fx.root, "big.dxp");
    const exported = fx.dxp(["exp", "export", "big", "-o", file]);
    assert.equal(exported.code, 0, exported.stderr);
    const dir = untar(file, join(fx.root, "untarred"));
    assert.ok(readFileSync(join(dir, key)).equals(model), key);
    const manifest = JSON.parse(readFileSync(join(dir, "dxp", "manifest.json"), "utf8")) as {
      members: { path: string; size: number; sha256: string }[];
    };
    assert.deepEqual(manifest.members.find((m) => m.path === key), {
      path: key,
      size: model.length,
      sha256: createHash("sha256").update(model).digest("hex"),
    });

    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const imported = fx.dxp(["exp", "import", file], clone);
    assert.equal(imported.code, 0, imported.stderr);
    const cached = join(clone, ".dvc", "cache", "files", "md5", md5.slice(0, 2), md5.slice(2));
    assert.ok(readFileSync(cached).equals(model));
    assert.equal(statSync(cached).mode & 0o777, 0o444);

    // A byte flipped in the middle of the big member: its md5 no longer matches
    // its name, and nothing changes.
    const other = airGappedClone(fx, "clone2");
    flipByte(file, dataOffset(file, key) + 3 * 1024 * 1024 + 5);
    const before = snapshot(fx, other);
    assertRefused(
      fx.dxp(["exp", "import", file], other),
      new RegExp(`its member '${key}' is corrupt: its md5 is [0-9a-f]{32}; nothing was imported`),
    );
    assert.deepEqual(snapshot(fx, other), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp export --split writes volumes tar reads joined; import takes the first, names a missing or corrupt volume", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "all.dxp");
    const result = fx.dxp(["exp", "export", "-A", "-o", file, "--split", "16K"]);
    assert.equal(result.code, 0, result.stderr);
    const volumes = readdirSync(fx.root).filter((n) => n.startsWith("all.dxp.")).sort();
    assert.ok(volumes.length >= 4, volumes.join(" "));
    assert.deepEqual(volumes, volumes.map((_, i) => `all.dxp.${String(i + 1).padStart(3, "0")}`));
    assert.match(
      result.stdout,
      new RegExp(
        `in ${volumes.length} volumes \\('.*all\\.dxp\\.001' to '.*${volumes.at(-1)}'\\)\\.`,
      ),
    );
    for (const v of volumes.slice(0, -1)) assert.equal(statSync(join(fx.root, v)).size, 16384, v);
    // Plain cat + tar read them as one archive.
    const joined = join(fx.root, "joined.tar");
    writeFileSync(joined, Buffer.concat(volumes.map((v) => readFileSync(join(fx.root, v)))));
    assert.match(
      execFileSync("tar", ["-tf", joined], { encoding: "utf8" }),
      /dxp\/manifest\.json\.sha256\n$/,
    );

    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const before = snapshot(fx, clone);
    const keep = join(fx.root, "kept");
    mkdirSync(keep);
    const hide = (v: string) => renameSync(join(fx.root, v), join(keep, v));
    const restore = (v: string) => renameSync(join(keep, v), join(fx.root, v));

    hide("all.dxp.002");
    assertRefused(
      fx.dxp(["exp", "import", "../all.dxp.001"], clone),
      /^ERROR: Volume '\.\.\/all\.dxp\.002' of '\.\.\/all\.dxp\.001' is missing; nothing was imported\.$/m,
    );
    restore("all.dxp.002");
    const last = volumes.at(-1)!;
    hide(last);
    assertRefused(
      fx.dxp(["exp", "import", "../all.dxp.001"], clone),
      new RegExp(`volume '\\.\\./${last.replace(/\./g, "\\.")}' is missing`),
    );
    restore(last);
    // A flipped byte inside an object of the third volume names that volume.
    const key = listFiles(untar(joined, join(fx.root, "u"))).find((p) => {
      if (!p.startsWith("files/")) return false;
      const at = dataOffset(joined, p);
      return at >= 2 * 16384 + 64 && at < 3 * 16384 - 64;
    });
    assert.ok(key, "an object whose data lies in volume 3");
    flipByte(join(fx.root, "all.dxp.003"), dataOffset(joined, key) - 2 * 16384);
    assertRefused(
      fx.dxp(["exp", "import", "../all.dxp.001"], clone),
      new RegExp(
        `its member '${key}' is corrupt: its md5 is [0-9a-f]{32} \\(in volume '\\.\\./all\\.dxp\\.003'\\)`,
      ),
    );
    assert.deepEqual(snapshot(fx, clone), before);
    flipByte(join(fx.root, "all.dxp.003"), dataOffset(joined, key) - 2 * 16384);
    // All volumes back: the import goes through (named by the file or its first volume).
    const ok = fx.dxp(["exp", "import", "../all.dxp"], clone);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Pulled experiment .* from Git remote '\.\.\/all\.dxp'\.\n$/);
    assert.deepEqual(expRefs(fx, clone), expRefs(fx, fx.repo));
  } finally {
    await fx.cleanup();
  }
});

async function* chunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** A copy of `file` with a member `name` (body `text`) inserted after its bundle. */
async function withExtraMember(file: string, out: string, name: string, text: string) {
  const parts: Uint8Array[] = [];
  const writer = new TarWriter({
    write: (c) => {
      parts.push(c.slice());
      return Promise.resolve();
    },
  });
  for await (const entry of readTar(chunks(readFileSync(file)))) {
    const body: Uint8Array[] = [];
    for await (const c of entry.body()) body.push(c.slice());
    await writer.add({ path: entry.path, size: entry.size, mode: entry.mode }, Buffer.concat(body));
    if (entry.path === "dxp/experiments.bundle") {
      const bytes = new TextEncoder().encode(text);
      await writer.add({ path: name, size: bytes.length }, bytes);
    }
  }
  await writer.end();
  writeFileSync(out, Buffer.concat(parts));
}

Deno.test("dxp exp import refuses members that escape its folders (../x, absolute, symlinks) and unknown members; nothing is written anywhere", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "exp-b.dxp");
    assert.equal(fx.dxp(["exp", "export", "exp-b", "-o", file]).code, 0);
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    const before = snapshot(fx, clone);
    const cases: [string, RegExp][] = [
      ["../x", /its member '\.\.\/x' escapes the import folders \('\.\.'\)/],
      ["files/md5/../../../x", /escapes the import folders/],
      ["/tmp/x", /its member '\/tmp\/x' has an absolute name/],
      ["dxp/extra.txt", /it has a member 'dxp\/extra\.txt' an export never holds/],
    ];
    for (const [name, pattern] of cases) {
      const evil = join(fx.root, "evil.dxp");
      await withExtraMember(file, evil, name, "owned\n");
      assertRefused(fx.dxp(["exp", "import", evil], clone), pattern);
      assert.deepEqual(snapshot(fx, clone), before, name);
    }
    assert.equal(existsSync(join(fx.root, "x")), false);
    assert.equal(existsSync(join(clone, "..", "x")), false);
    // A symbolic link (here under an object's name), made by real tar.
    const dir = untar(file, join(fx.root, "untarred"));
    const key = "files/md5/e2/c865db4162bed963bfaa9ef6ac18f0";
    rmSync(join(dir, key));
    symlinkSync("/etc/passwd", join(dir, key));
    const evil = join(fx.root, "link.dxp");
    execFileSync("tar", ["-cf", evil, "-C", dir, "dxp/README.txt", "dxp/experiments.bundle", key]);
    assertRefused(
      fx.dxp(["exp", "import", evil], clone),
      new RegExp(`its member '${key}' is a symbolic link`),
    );
    assert.deepEqual(snapshot(fx, clone), before);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp import refuses a file made for another project, and a file without its manifest", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "exp-b.dxp");
    assert.equal(fx.dxp(["exp", "export", "exp-b", "-o", file]).code, 0);
    const other = join(fx.root, "other");
    mkdirSync(join(other, ".dvc"), { recursive: true });
    writeFileSync(join(other, ".dvc", "config"), "");
    writeFileSync(join(other, "README"), "another project\n");
    fx.git(["init", "-q", "-b", "main"], other);
    fx.git(["add", "."], other);
    fx.git(["commit", "-q", "-m", "other"], other);
    const before = snapshot(fx, other);
    assertRefused(
      fx.dxp(["exp", "import", file], other),
      /it was made for another project: none of the commits it builds on \(21f7f42\) is in this repository; nothing was imported\.$/m,
    );
    assert.deepEqual(snapshot(fx, other), before);
    // The other way round: a have file written there shares no commit with this history.
    const otherHave = join(fx.root, "other.have");
    assert.equal(fx.dxp(["exp", "have", "-o", otherHave], other).code, 0);
    const toOther = join(fx.root, "to-other.dxp");
    assertRefused(
      fx.dxp(["exp", "export", "exp-b", "--have", otherHave, "-o", toOther]),
      /^ERROR: None of the commits in '.*other\.have' is in the experiments' history: it was written in another project, or in a clone without this project's history; nothing was exported\.$/m,
    );
    assert.equal(existsSync(toOther), false);

    // Without its last two members (manifest and checksum) but with a proper end of archive.
    const clone = airGappedClone(fx);
    const stripped = join(fx.root, "no-manifest.dxp");
    const dir = untar(file, join(fx.root, "untarred"));
    const members = execFileSync("tar", ["-tf", file], { encoding: "utf8" }).split("\n")
      .filter((m) => m !== "" && !m.startsWith("dxp/manifest"));
    execFileSync("tar", ["-cf", stripped, "-C", dir, ...members]);
    const cloneBefore = snapshot(fx, clone);
    assertRefused(
      fx.dxp(["exp", "import", stripped], clone),
      /it has no manifest \(it is truncated, or not a dxp export\)/,
    );
    assert.deepEqual(snapshot(fx, clone), cloneBefore);
  } finally {
    await fx.cleanup();
  }
});

/**
 * A new experiment "exp-c" on B1, made with git plumbing: exp-b's commit
 * with model.bin replaced by a new object added to the cache.
 */
function makeExpC(fx: FixtureCopy): { sha: string; key: string; content: string } {
  const content = "model trained with lr 0.7\n";
  const md5 = createHash("md5").update(content).digest("hex");
  const key = `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;
  const path = join(fx.repo, ".dvc", "cache", key);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content, { mode: 0o444 });
  const lock = fx.git(["show", `${EXP_B}:dvc.lock`]);
  const edited = lock.replace(
    /(path: model\.bin\n\s+hash: md5\n\s+md5: )[0-9a-f]{32}(\n\s+size: )\d+/,
    `$1${md5}$2${Buffer.byteLength(content)}`,
  );
  assert.notEqual(edited, lock);
  const blobFile = join(fx.root, "lock.tmp");
  writeFileSync(blobFile, edited);
  const blob = fx.git(["hash-object", "-w", blobFile]).trim();
  const env = { ...fx.env, GIT_INDEX_FILE: join(fx.root, "index.tmp") };
  const git = (args: string[]) =>
    execFileSync("git", args, { cwd: fx.repo, env: { ...process.env, ...env }, encoding: "utf8" })
      .trim();
  git(["read-tree", EXP_B]);
  git(["update-index", "--cacheinfo", `100644,${blob},dvc.lock`]);
  const tree = git(["write-tree"]);
  const sha = git(["commit-tree", tree, "-p", B1, "-m", "exp-c"]);
  fx.git(["update-ref", `refs/exps/21/${B1.slice(2)}/exp-c`, sha]);
  return { sha, key, content };
}

Deno.test("incremental: after one more experiment, export --since the first file (or --have from the receiver) carries only the new objects", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const first = join(fx.root, "week1.dxp");
    const firstRun = fx.dxp(["exp", "export", "exp-b", "-o", first, "--json"]);
    assert.equal(firstRun.code, 0, firstRun.stderr);
    const full = JSON.parse(firstRun.stdout);
    assert.equal(full.objects, 23);
    const clone = airGappedClone(fx);
    cutNetwork(fx);
    assert.equal(fx.dxp(["exp", "import", first], clone).code, 0);

    const expC = makeExpC(fx);
    const second = join(fx.root, "week2.dxp");
    const run = fx.dxp([
      "exp",
      "export",
      "exp-b",
      "exp-c",
      "--since",
      first,
      "-o",
      second,
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.exported, ["exp-b", "exp-c"]);
    assert.equal(report.objects, 1);
    assert.equal(report.objects_left_out, 23);
    // The new commit, its root tree and its dvc.lock: nothing of exp-b's history again.
    assert.equal(report.git_objects, 3);
    assert.ok(
      report.bytes < statSync(first).size / 2,
      `${report.bytes} vs ${statSync(first).size}`,
    );
    const dir = untar(second, join(fx.root, "week2"));
    assert.deepEqual(objectFiles(dir), [expC.key]);
    const heads = fx.git(["bundle", "list-heads", join(dir, "dxp", "experiments.bundle")]);
    assert.equal(heads.split("\n").filter(Boolean).length, 2);
    assert.equal(
      spawnSync("git", ["bundle", "verify", "-q", join(dir, "dxp", "experiments.bundle")], {
        cwd: clone,
      }).status,
      0,
    );

    // A clone that never got week1 cannot use week2: refused, nothing changed.
    const late = airGappedClone(fx, "late-clone");
    const lateBefore = snapshot(fx, late);
    assertRefused(
      fx.dxp(["exp", "import", second], late),
      /experiment 'exp-b' needs 3 DVC objects neither in the file nor in this cache \(first: 'files\/md5\/82\/9414ddd7eb43a3c68ddeb66eab483f\.dir'\): it was exported with --since\/--have for another state of this clone/,
    );
    assert.deepEqual(snapshot(fx, late), lateBefore);

    // The receiver describes itself; the same objects are left out.
    const have = join(fx.root, "clone.have");
    const wrote = fx.dxp(["exp", "have", "-o", have], clone);
    assert.equal(wrote.code, 0, wrote.stderr);
    assert.match(wrote.stdout, /^Wrote \d+ commits and 23 cached objects to '.*clone\.have'\.\n$/);
    const third = join(fx.root, "week2-have.dxp");
    const viaHave = fx.dxp([
      "exp",
      "export",
      "exp-b",
      "exp-c",
      "--have",
      have,
      "-o",
      third,
      "--json",
    ]);
    assert.equal(viaHave.code, 0, viaHave.stderr);
    const haveReport = JSON.parse(viaHave.stdout);
    assert.equal(haveReport.objects, 1);
    assert.equal(haveReport.objects_left_out, 23);
    assert.equal(haveReport.git_objects, 3);

    const imported = fx.dxp(["exp", "import", third], clone);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.stdout, `Pulled experiment exp-c from Git remote '${third}'.\n`);
    const applied = fx.dxp(["exp", "apply", "exp-c"], clone);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(readFileSync(join(clone, "model.bin"), "utf8"), expC.content);
    // And the --since file imports the same way into the same state (idempotent: nothing new).
    const before = snapshot(fx, clone);
    const again = fx.dxp(["exp", "import", second], clone);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "No experiments to pull.\n");
    assert.deepEqual(snapshot(fx, clone), before);
    fx.git(["fsck", "--full", "--strict"], clone);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp import follows exp pull's rules: diverged refused unless -f, --dry-run changes nothing, --json, names, --apply", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const all = join(fx.root, "all.dxp");
    const one = join(fx.root, "exp-b.dxp");
    assert.equal(fx.dxp(["exp", "export", "-A", "-o", all]).code, 0);
    assert.equal(fx.dxp(["exp", "export", "exp-b", "-o", one]).code, 0);
    const clone = airGappedClone(fx);
    cutNetwork(fx);

    // --dry-run reads and checks everything, says what it would do, changes nothing.
    const pristine = snapshot(fx, clone);
    const dry = fx.dxp(["exp", "import", all, "exp-b", "--dry-run"], clone);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, `Would pull experiment exp-b from Git remote '${all}'.\n`);
    assert.deepEqual(snapshot(fx, clone), pristine);

    // Names pick experiments of the file.
    const named = fx.dxp(["exp", "import", all, "typed-gulf", "--json"], clone);
    assert.equal(named.code, 0, named.stderr);
    const json = JSON.parse(named.stdout);
    assert.deepEqual(json.success, ["typed-gulf"]);
    assert.equal(json.dry_run, false);
    assert.ok(json.downloaded > 0);
    assert.deepEqual(json.refs.map((r: { name: string }) => r.name), ["typed-gulf"]);
    assert.deepEqual(expRefs(fx, clone).map((l) => l.slice(41)), [
      "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/typed-gulf",
    ]);
    const unknown = fx.dxp(["exp", "import", all, "nope"], clone);
    assertRefused(unknown, /^ERROR: 'nope' is not a valid experiment name$/m);

    // A local exp-b that is not an ancestor of the file's: diverged, left alone (exit 1, as exp pull).
    assert.equal(fx.dxp(["exp", "import", all], clone).code, 0);
    const expA1 = fx.git(["rev-parse", `refs/exps/21/${B1.slice(2)}/exp-a`], clone).trim();
    fx.git(["update-ref", EXP_B_REF, expA1], clone);
    const diverged = fx.dxp(["exp", "import", one], clone);
    assert.equal(diverged.code, 1, diverged.stderr);
    assert.equal(diverged.stdout, "No experiments to pull.\n");
    assert.equal(
      diverged.stderr,
      "Local experiment exp-b has diverged from remote experiment with the same name. To override the local experiment re-run with '--force'.\n",
    );
    assert.equal(fx.git(["rev-parse", EXP_B_REF], clone).trim(), expA1);
    const forced = fx.dxp(["exp", "import", one, "-f", "--json"], clone);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).refs[0].forced, true);
    assert.equal(fx.git(["rev-parse", EXP_B_REF], clone).trim(), EXP_B);

    // --apply: exactly one experiment, checked before anything changes.
    const late = airGappedClone(fx, "apply-clone");
    const before = snapshot(fx, late);
    assertRefused(
      fx.dxp(["exp", "import", all, "--apply"], late),
      /^ERROR: --apply needs exactly one experiment; the file holds 4: name the one to apply\.$/m,
    );
    assert.deepEqual(snapshot(fx, late), before);
    const applied = fx.dxp(["exp", "import", one, "--apply"], late);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, `Pulled experiment exp-b from Git remote '${one}'.\n${APPLIED_B}`);
    const golden = readGolden("basic", "exp-apply_exp-b_fresh-clone");
    assert.equal(
      fx.git(["status", "--short"], late),
      golden.sections.get("after: git status --short"),
    );
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp export: --no-cache carries refs only; a missing cache object or an unknown name fails with no file left; nothing selected writes nothing", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const refsOnly = join(fx.root, "refs.dxp");
    const run = fx.dxp(["exp", "export", "exp-b", "--no-cache", "-o", refsOnly]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `Exported experiment exp-b to '${refsOnly}'.\n`);
    assert.deepEqual(objectFiles(untar(refsOnly, join(fx.root, "u1"))), []);
    const clone = airGappedClone(fx);
    const imported = fx.dxp(["exp", "import", refsOnly], clone);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(fx.git(["rev-parse", EXP_B_REF], clone).trim(), EXP_B);
    assert.deepEqual(listFiles(join(clone, ".dvc", "cache")), []);

    const out = join(fx.root, "out", "x.dxp");
    mkdirSync(join(fx.root, "out"));
    const model = join(fx.repo, ".dvc", "cache", "files/md5/5c/166ab4d920487f8691e458808bbe0d");
    rmSync(model);
    const missing = fx.dxp(["exp", "export", "exp-b", "-o", out]);
    assertRefused(
      missing,
      /^ERROR: Cannot export: 1 object the experiments need is not in the local cache \(first: 'files\/md5\/5c\/166ab4d920487f8691e458808bbe0d' of experiment 'exp-b'\); get it with 'dxp exp pull' or 'dxp fetch' first, or export with --no-cache\.$/m,
    );
    assert.deepEqual(readdirSync(join(fx.root, "out")), []);
    assertRefused(
      fx.dxp(["exp", "export", "nope", "-o", out]),
      /^ERROR: 'nope' is not a valid experiment name$/m,
    );
    assert.deepEqual(readdirSync(join(fx.root, "out")), []);
    const none = fx.dxp(["exp", "export", "--rev", "HEAD~1", "-n", "0", "-o", out]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "No experiments to export.\n");
    assert.deepEqual(readdirSync(join(fx.root, "out")), []);
    const usage = fx.dxp(["exp", "export", "exp-b"]);
    assert.equal(usage.code, 254);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp export selects as exp push does: --rev/-n and full refs", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const names = (args: string[]) => {
      const r = fx.dxp([
        "exp",
        "export",
        ...args,
        "-o",
        join(fx.root, "sel.dxp"),
        "--json",
        "--no-cache",
      ]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).refs.map((e: { ref: string }) => e.ref).sort();
    };
    const b2Exps = [
      "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a",
      "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/typed-gulf",
    ];
    const b1Exps = [`refs/exps/21/${B1.slice(2)}/exp-a`, EXP_B_REF];
    assert.deepEqual(names([]), b2Exps);
    assert.deepEqual(names(["--rev", B1]), b1Exps);
    assert.deepEqual(names(["-n", "2"]), [...b1Exps, ...b2Exps].sort());
    assert.deepEqual(names([`refs/exps/21/${B1.slice(2)}/exp-a`]), [b1Exps[0]]);
    assert.deepEqual(names(["-A"]).length, 4);
  } finally {
    await fx.cleanup();
  }
});

/** Quotes one argument for /bin/sh. */
function sq(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Runs dist/dxp on a pseudo-terminal (`script`): stdout and stderr both arrive in `stdout`. */
function dxpOnTty(fx: FixtureCopy, args: string[], cwd: string) {
  const command = [DXP_BIN, ...args].map(sq).join(" ");
  const r = spawnSync("script", ["-qfec", command, "/dev/null"], {
    cwd,
    env: { ...fx.env, SHELL: "/bin/sh", TERM: "xterm" },
    encoding: "utf8",
  });
  return { code: r.status ?? 128, stdout: r.stdout };
}

Deno.test("dxp exp export / import on a terminal draw a progress bar; --no-progress and -q do not; no archive to a terminal", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const file = join(fx.root, "all.dxp");
    const shown = dxpOnTty(fx, ["exp", "export", "-A", "-o", file], fx.repo);
    assert.equal(shown.code, 0, shown.stdout);
    assert.match(shown.stdout, /Exporting \|[█░]+\| 51\/51 objects/);
    assert.ok(existsSync(file));
    const plain = dxpOnTty(fx, ["exp", "export", "-A", "-o", file, "--no-progress"], fx.repo);
    assert.equal(plain.code, 0, plain.stdout);
    assert.doesNotMatch(plain.stdout, /Exporting/);
    assert.match(plain.stdout, /^Exported experiment .*\r\n51 files exported\r\n$/);
    const tty = dxpOnTty(fx, ["exp", "export", "-A", "-o", "-"], fx.repo);
    assert.equal(tty.code, 255);
    assert.match(
      tty.stdout,
      /^ERROR: Refusing to write an export to a terminal: redirect standard output or use -o FILE\.\r\n$/,
    );

    const clone = airGappedClone(fx);
    const imported = dxpOnTty(fx, ["exp", "import", file], clone);
    assert.equal(imported.code, 0, imported.stdout);
    assert.match(imported.stdout, /Importing \|[█░]+\|/);
    assert.match(imported.stdout, /Pulled experiment .* from Git remote '.*all\.dxp'\.\r\n$/);
    const quiet = dxpOnTty(fx, ["exp", "import", file, "-q"], clone);
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stdout, "");
    const noBar = dxpOnTty(fx, ["exp", "import", file, "--no-progress"], clone);
    assert.equal(noBar.code, 0, noBar.stdout);
    assert.equal(noBar.stdout, "No experiments to pull.\r\n");
    const again = join(fx.root, "again.dxp");
    const quietExport = dxpOnTty(fx, ["exp", "export", "-A", "-o", again, "-q"], fx.repo);
    assert.equal(quietExport.code, 0);
    assert.equal(quietExport.stdout, "");
    assert.deepEqual(readFileSync(again), readFileSync(file));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp export --since a Git revision leaves out the commits the receiver has; dxp exp have -o - writes to a pipe", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const expA = `refs/exps/21/${B1.slice(2)}/exp-a`;
    const json = (args: string[]) => {
      const r = fx.dxp(["exp", "export", ...args, "-o", join(fx.root, "x.dxp"), "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const both = json([expA, "exp-b"]);
    const aloneA = json([expA]);
    const since = json([expA, "exp-b", "--since", EXP_B_REF]);
    // The receiver has exp-b: its commit is a prerequisite and only exp-a's objects travel.
    assert.equal(since.git_objects, aloneA.git_objects);
    assert.ok(since.git_objects < both.git_objects, `${since.git_objects} < ${both.git_objects}`);
    assert.deepEqual([...since.prerequisites].sort(), [B1, EXP_B].sort());
    // A revision says nothing about DVC objects: they all travel.
    assert.equal(since.objects, both.objects);
    const bad = fx.dxp([
      "exp",
      "export",
      "exp-b",
      "--since",
      "no-such-thing",
      "-o",
      join(fx.root, "c.dxp"),
    ]);
    assertRefused(
      bad,
      /^ERROR: --since 'no-such-thing' is neither an export file nor a Git revision of this repository\.$/m,
    );

    const clone = airGappedClone(fx);
    const have = spawnSync(DXP_BIN, ["exp", "have", "-o", "-"], { cwd: clone, env: fx.env });
    assert.equal(have.status, 0, String(have.stderr));
    assert.match(
      String(have.stderr),
      /^Wrote 1 commit and 0 cached objects to standard output\.\n$/,
    );
    assert.equal(have.stdout.subarray(0, 11).toString(), "dxp-have 1\n");
    const haveFile = join(fx.root, "clone.have");
    writeFileSync(haveFile, have.stdout);
    const viaHave = fx.dxp([
      "exp",
      "export",
      "exp-b",
      "--have",
      haveFile,
      "-o",
      join(fx.root, "d.dxp"),
      "--json",
    ]);
    assert.equal(viaHave.code, 0, viaHave.stderr);
    assert.equal(JSON.parse(viaHave.stdout).objects, 23);
    // A damaged have file is refused with one line.
    const damaged = Buffer.from(have.stdout);
    damaged[damaged.length - 5] = damaged[damaged.length - 5]! ^ 1;
    writeFileSync(haveFile, damaged);
    assertRefused(
      fx.dxp(["exp", "export", "exp-b", "--have", haveFile, "-o", join(fx.root, "e.dxp")]),
      /is not a usable have file \(its checksum does not match\)/,
    );
    assert.equal(existsSync(join(fx.root, "e.dxp")), false);
  } finally {
    await fx.cleanup();
  }
});
