import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { checkout } from "../lib/engine/checkout/checkout.ts";
import type { CheckoutOptions } from "../lib/engine/checkout/types.ts";
import { DxpError, UnsafePathError } from "../lib/errors/mod.ts";
import { openProject } from "../lib/project/project.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { git, goldenEnv, scratch } from "./helpers/tmp.ts";

/** A project next to an `outside/` folder that nothing may ever write into. */
async function makeProject() {
  const tmp = await scratch("dxp-safety-");
  const root = join(tmp.dir, "repo");
  const outside = join(tmp.dir, "outside");
  mkdirSync(outside);
  const env = goldenEnv(tmp.dir);
  mkdirSync(join(root, ".dvc"), { recursive: true });
  git(["init", "-q"], root, env);
  writeFileSync(join(root, ".dvc", "config"), "");
  const put = (bytes: Uint8Array, oid: string) => {
    const path = join(root, ".dvc", "cache", "files", "md5", oid.slice(0, 2), oid.slice(2));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    chmodSync(path, 0o444);
    return oid;
  };
  const object = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return put(bytes, hashBytes(bytes));
  };
  /** A `.dir` object with exactly these JSON bytes (a crafted manifest). */
  const rawDir = (json: string) => {
    const bytes = new TextEncoder().encode(json);
    return put(bytes, `${hashBytes(bytes)}.dir`);
  };
  const dvcFile = (file: string, path: string, oid: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(
      join(root, file),
      `outs:\n- md5: ${oid}\n  hash: md5\n  path: ${JSON.stringify(path)}\n`,
    );
  };
  const run = (options: CheckoutOptions = {}) => checkout(openProject(root, env), options);
  const outsideIsEmpty = () => readdirSync(outside).length === 0;
  return { ...tmp, root, outside, object, rawDir, dvcFile, run, outsideIsEmpty };
}

const entry = (relpath: string, md5: string) =>
  `{"md5": "${md5}", "relpath": ${JSON.stringify(relpath)}}`;

for (
  const [label, relpath, reason] of [
    ["an absolute relpath", "/tmp/dxp-escape.txt", /is absolute/],
    ["a relpath climbing out with '..'", "../../outside/escape.txt", /climbs out with '\.\.'/],
    ["a relpath with a NUL byte", "a\u0000b.txt", /'a\\x00b\.txt': it contains a NUL byte/],
    ["a relpath with a drive letter", "C:/escape.txt", /starts with a drive letter/],
    ["a relpath with a backslash", "..\\..\\outside\\escape.txt", /contains a backslash/],
    ["a relpath inside .git", ".git/hooks/post-checkout", /is inside '\.git'/],
  ] as const
) {
  Deno.test(`checkout() refuses a manifest with ${label} before writing anything`, async () => {
    const p = await makeProject();
    try {
      const good = p.object("good\n");
      p.dvcFile("good.txt.dvc", "good.txt", good);
      p.dvcFile("data.dvc", "data", p.rawDir(`[${entry(relpath, good)}]`));
      await assert.rejects(p.run({ force: true }), (e: unknown) => {
        assert.ok(e instanceof UnsafePathError, String(e));
        assert.match(e.message, reason);
        assert.ok(!e.message.includes("\n"), "one line");
        return true;
      });
      assert.ok(!existsSync(join(p.root, "good.txt")), "nothing written before the refusal");
      assert.ok(!existsSync(join(p.root, "data")));
      assert.deepEqual(
        readdirSync(p.root).filter((n) => n.startsWith(".data.")),
        [],
        "no build left",
      );
      assert.ok(p.outsideIsEmpty());
      assert.ok(!existsSync("/tmp/dxp-escape.txt"));
    } finally {
      await p.cleanup();
    }
  });
}

for (
  const [label, path, reason] of [
    ["climbing out of the project", "../outside/escape.txt", /climbs out of the project/],
    ["that is absolute", "/tmp/dxp-escape.txt", /is absolute/],
    ["inside .git", ".git/hooks/post-checkout", /is inside '\.git'/],
    ["inside .git at any level", "sub/.GIT/config", /is inside '\.git'/],
    ["inside .dvc", ".dvc/config", /is inside '\.dvc'/],
  ] as const
) {
  Deno.test(`checkout() refuses a .dvc output path ${label}`, async () => {
    const p = await makeProject();
    try {
      const oid = p.object("#!/bin/sh\necho owned\n");
      p.dvcFile(path.startsWith("sub/") ? "sub/x.dvc" : "x.dvc", path.replace(/^sub\//, ""), oid);
      await assert.rejects(p.run({ force: true }), (e: unknown) => {
        assert.ok(e instanceof UnsafePathError, String(e));
        assert.match(e.message, reason);
        return true;
      });
      assert.ok(!existsSync(join(p.root, ".git/hooks/post-checkout")));
      assert.ok(p.outsideIsEmpty());
      assert.ok(!existsSync("/tmp/dxp-escape.txt"));
    } finally {
      await p.cleanup();
    }
  });
}

Deno.test("checkout() refuses to write through a folder symlink that leads out of the workspace", async () => {
  const p = await makeProject();
  try {
    symlinkSync(p.outside, join(p.root, "data"));
    p.dvcFile("raw.dvc", "data/raw.csv", p.object("1,2,3\n"));
    await assert.rejects(p.run({ force: true }), (e: unknown) => {
      assert.ok(e instanceof UnsafePathError);
      assert.equal(
        e.message,
        "Refusing to write below 'data': it is a symbolic link that leads out of the workspace.",
      );
      return true;
    });
    assert.ok(p.outsideIsEmpty());
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() replaces a symlink inside a directory output instead of following it", async () => {
  const p = await makeProject();
  try {
    const b = p.object("b\n");
    p.dvcFile("data.dvc", "data", p.rawDir(`[${entry("sub/b.txt", b)}]`));
    mkdirSync(join(p.root, "data"));
    symlinkSync(p.outside, join(p.root, "data", "sub"));
    // The link is not the output's content: a plain checkout will not remove it.
    await assert.rejects(
      p.run(),
      (e: unknown) => e instanceof DxpError && /data\/sub$/.test(e.message),
    );
    await p.run({ force: true });
    assert.ok(lstatSync(join(p.root, "data", "sub")).isDirectory());
    assert.ok(existsSync(join(p.root, "data", "sub", "b.txt")));
    assert.ok(p.outsideIsEmpty());
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() writes through a folder symlink that stays inside the workspace", async () => {
  const p = await makeProject();
  try {
    mkdirSync(join(p.root, "real"));
    symlinkSync("real", join(p.root, "data"));
    p.dvcFile("raw.dvc", "data/raw.csv", p.object("1,2,3\n"));
    assert.deepEqual((await p.run()).added, ["data/raw.csv"]);
    assert.ok(existsSync(join(p.root, "real", "raw.csv")));
  } finally {
    await p.cleanup();
  }
});

Deno.test("checkout() refuses a stage wdir that climbs out of the project", async () => {
  const p = await makeProject();
  try {
    const oid = p.object("x\n");
    writeFileSync(
      join(p.root, "dvc.yaml"),
      "stages:\n  s:\n    cmd: echo\n    wdir: ../outside\n    outs:\n    - escape.txt\n",
    );
    writeFileSync(
      join(p.root, "dvc.lock"),
      `schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: escape.txt\n      hash: md5\n      md5: ${oid}\n`,
    );
    await assert.rejects(p.run({ force: true }), UnsafePathError);
    assert.ok(p.outsideIsEmpty());
  } finally {
    await p.cleanup();
  }
});
