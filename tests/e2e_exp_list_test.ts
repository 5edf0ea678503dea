import assert from "node:assert/strict";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import { readGolden } from "./helpers/golden.ts";
import { dxp, goldenEnv, scratch } from "./helpers/tmp.ts";

/** Same blocks, same lines in each (DVC's order comes from Python sets). */
function blocks(text: string): string[] {
  return text.split(/\n(?=\S)/).map((b) => b.split("\n").filter(Boolean).sort().join("\n")).sort();
}

Deno.test("dxp exp list matches every exp-list golden of the basic fixture", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const goldens = [
      "exp-list",
      "exp-list_A",
      "exp-list_A_name-only",
      "exp-list_A_origin",
      "exp-list_name-only",
      "exp-list_origin",
      "exp-list_origin_name-only",
      "exp-list_origin_sha-only",
      "exp-list_rev-B1",
      "exp-list_sha-only",
    ];
    for (const name of goldens) {
      const golden = readGolden("basic", name);
      const result = fx.dxp(golden.command.split(" ").slice(1));
      assert.equal(result.code, golden.exitCode, name);
      assert.deepEqual(blocks(result.stdout), blocks(golden.stdout), name);
      assert.equal(result.stderr, golden.stderr, name);
    }
    const json = JSON.parse(fx.dxp(["exp", "list", "--json"]).stdout);
    assert.deepEqual(json, [
      {
        baseline: "c8eada1176f7ecc6d6b39885e2ca39834e41eee8",
        label: "main",
        name: "exp-a",
        ref: "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a",
        sha: "3fb57963e586fb005a7fcbc7cf7ca4831bdff876",
      },
      {
        baseline: "c8eada1176f7ecc6d6b39885e2ca39834e41eee8",
        label: "main",
        name: "typed-gulf",
        ref: "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/typed-gulf",
        sha: "3f95182bd54ad6bd37a339e6c1e32c627a772fe5",
      },
    ]);
    const clone = fx.freshClone();
    for (
      const name of [
        "exp-list_A_fresh-clone",
        "exp-list_A_origin_fresh-clone",
        "exp-list_origin_fresh-clone",
      ]
    ) {
      const golden = readGolden("basic", name);
      const result = fx.dxp(golden.command.split(" ").slice(1), clone);
      assert.deepEqual(blocks(result.stdout), blocks(golden.stdout), name);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp list matches the legacy fixture's goldens", async () => {
  const fx = await fixtureCopy("legacy");
  try {
    for (const name of ["exp-list", "exp-list_A", "exp-list_origin", "exp-list_origin_name-only"]) {
      const golden = readGolden("legacy", name);
      const result = fx.dxp(golden.command.split(" ").slice(1));
      assert.equal(result.code, golden.exitCode, name);
      assert.deepEqual(blocks(result.stdout), blocks(golden.stdout), name);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp outside a DVC repository, with bad flags, and its help/version/completion", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const env = goldenEnv(dir);
    const outside = dxp(["exp", "list"], { cwd: dir, env });
    assert.equal(outside.code, 253);
    assert.equal(
      outside.stderr,
      "ERROR: you are not inside of a DVC repository (checked up to mount point '/')\n",
    );
    const usage = dxp(["exp", "list", "--bogus"], { cwd: dir, env });
    assert.equal(usage.code, 254);
    assert.match(usage.stderr, /^ERROR: unknown option '--bogus'/);
    const both = dxp(["exp", "list", "--name-only", "--sha-only"], { cwd: dir, env });
    assert.equal(both.code, 254);
    const version = dxp(["--version"], { env });
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    for (const args of [["--help"], ["exp", "push", "--help"], ["remote", "add", "--help"]]) {
      const help = dxp(args, { env });
      assert.equal(help.code, 0, args.join(" "));
      assert.match(help.stdout, /^Usage: dxp/);
    }
    for (const shell of ["bash", "zsh", "fish"]) {
      const script = dxp(["completion", shell], { env });
      assert.equal(script.code, 0, shell);
      assert.match(script.stdout, /dxp/);
    }
    const quiet = dxp(["exp", "list", "-q"], { cwd: dir, env });
    assert.equal(quiet.code, 253);
    assert.equal(quiet.stderr + quiet.stdout, "");
  } finally {
    await cleanup();
  }
});

Deno.test("dxp exp list --rev and -n select baselines as the remotes fixture's goldens", async () => {
  const fx = await fixtureCopy("remotes");
  try {
    // Baseline 3 is HEAD (main); its first-parent ancestors are baselines 2 and 1.
    const b3 = "c6d34a0a096dcc0e6afaa76344ef97315066a991";
    // The goldens' setup: every experiment pushed.
    const push = fx.dxp(["exp", "push", "origin", "-A"]);
    assert.equal(push.code, 0, push.stderr);

    const n2 = readGolden("remotes", "exp-list_origin_rev-B3_n2");
    const n3 = readGolden("remotes", "exp-list_origin_rev-B3_n3");
    assert.equal(n2.command, `dvc exp list origin --rev ${b3} -n 2`);
    assert.equal(n3.command, `dvc exp list origin --rev ${b3} -n 3`);
    const remoteN2 = fx.dxp(["exp", "list", "origin", "--rev", b3, "-n", "2"]);
    assert.equal(remoteN2.code, n2.exitCode, remoteN2.stderr);
    assert.deepEqual(blocks(remoteN2.stdout), blocks(n2.stdout));
    assert.equal(remoteN2.stderr, n2.stderr);
    const remoteN3 = fx.dxp(["exp", "list", "origin", "--rev", b3, "-n", "3"]);
    assert.equal(remoteN3.code, n3.exitCode, remoteN3.stderr);
    assert.deepEqual(blocks(remoteN3.stdout), blocks(n3.stdout));
    // -n changes the answer: 2 baselines, then 3; --rev alone is 1 baseline.
    assert.notDeepEqual(blocks(remoteN2.stdout), blocks(remoteN3.stdout));
    assert.deepEqual(
      blocks(fx.dxp(["exp", "list", "origin", "--rev", b3]).stdout),
      blocks(readGolden("remotes", "exp-list_origin").stdout),
    );
    for (const name of ["exp-list_A", "exp-list_origin", "exp-list_origin_A"]) {
      const golden = readGolden("remotes", name);
      const result = fx.dxp(golden.command.split(" ").slice(1));
      assert.equal(result.code, golden.exitCode, name);
      assert.deepEqual(blocks(result.stdout), blocks(golden.stdout), name);
    }

    // Locally the same selection, with SHAs: the -A golden's blocks of those baselines.
    const allLocal = blocks(readGolden("remotes", "exp-list_A").stdout);
    const localN2 = fx.dxp(["exp", "list", "--rev", b3, "-n", "2"]);
    assert.equal(localN2.code, 0, localN2.stderr);
    assert.deepEqual(
      blocks(localN2.stdout),
      allLocal.filter((b) => /^(main|989d273):$/m.test(b)),
    );
    assert.deepEqual(
      blocks(fx.dxp(["exp", "list", "--rev", "HEAD", "--num", "3"]).stdout),
      allLocal,
    );
    // A negative -n means every ancestor.
    assert.deepEqual(blocks(fx.dxp(["exp", "list", "-n", "-1"]).stdout), allLocal);
  } finally {
    await fx.cleanup();
  }
});
