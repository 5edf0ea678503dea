/**
 * dist/dxp against a Git server that lies (tests/helpers/malicious_git_server.ts):
 * refs to objects its pack lacks, objects that do not hash to their ids,
 * ref names that climb out of refs/exps or carry control characters, 100,000
 * refs, and a pack that stalls half-way. Whatever it says, dxp may write only
 * refs/exps/ refs the command names, never a ref to a missing object, and it
 * must stop on Ctrl-C.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fixtureCopy } from "./helpers/fixture_repo.ts";
import {
  type MaliciousGitServer,
  objectsBetween,
  packOf,
  type RawObject,
  startMaliciousGitServer,
} from "./helpers/malicious_git_server.ts";
import { DXP_BIN, git, runAsync } from "./helpers/tmp.ts";

const MAIN = "c8eada1176f7ecc6d6b39885e2ca39834e41eee8";
const EXP_A = "3fb57963e586fb005a7fcbc7cf7ca4831bdff876";
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
const EXP_A_REF = `refs/exps/c8/${MAIN.slice(2)}/exp-a`;

interface Setup {
  server: MaliciousGitServer;
  clone: string;
  env: Record<string, string>;
  /** exp-a's objects (commit first) as the fixture repository has them. */
  expA: (RawObject & { oid: string })[];
  refsBefore: string;
  dxp(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const fx = await fixtureCopy("basic");
  const server = await startMaliciousGitServer();
  const clone = fx.freshClone();
  git(["remote", "set-url", "origin", server.url], clone, fx.env);
  const expA = await objectsBetween(fx.repo, [EXP_A], [MAIN]);
  server.refs = [["refs/heads/main", MAIN], [EXP_A_REF, EXP_A]];
  server.pack = packOf(expA);
  return {
    server,
    clone,
    env: fx.env,
    expA,
    refsBefore: refsOf(clone, fx.env),
    dxp: (args) => runAsync(DXP_BIN, args, { cwd: clone, env: fx.env }),
    async cleanup() {
      await server.stop();
      await fx.cleanup();
    },
  };
}

function refsOf(repo: string, env: Record<string, string>): string {
  return git(["for-each-ref", "--format=%(refname) %(objectname)"], repo, env);
}

/** No ref changed, every ref's objects are here, nothing half-written is left. */
function assertUntouched(s: Setup): void {
  assert.equal(refsOf(s.clone, s.env), s.refsBefore, "no ref changed");
  git(["fsck", "--connectivity-only", "--no-dangling"], s.clone, s.env);
  assertNoLeftovers(s.clone);
}

function assertNoLeftovers(clone: string): void {
  const objects = join(clone, ".git", "objects");
  assert.deepEqual(
    readdirSync(objects).filter((n) => n.startsWith("incoming-")),
    [],
    "quarantine left",
  );
  const locks = git(["ls-files", "--others", "--", ".git"], clone).trim();
  assert.equal(locks, "");
  assert.equal(existsSync(join(clone, ".dvc", "tmp", "lock")), false, "repo lock released");
}

Deno.test("malicious git: the honest answer of the fake server pulls exp-a (the server itself works)", async () => {
  const s = await setup();
  try {
    const r = await s.dxp(["exp", "pull", "origin", "exp-a", "--no-cache"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Pulled experiment exp-a from Git remote 'origin'\.\n/);
    assert.equal(git(["rev-parse", EXP_A_REF], s.clone, s.env).trim(), EXP_A);
    git(["fsck", "--connectivity-only"], s.clone, s.env);
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious git: a ref whose commit or snapshot objects the pack lacks is refused; no ref is written", async () => {
  const variants: [string, (objects: (RawObject & { oid: string })[]) => RawObject[]][] = [
    ["no commit", (objects) => objects.filter((o) => o.oid !== EXP_A)],
    ["no blob", (objects) => {
      const last = objects.findLastIndex((o) => o.type === "blob");
      return objects.filter((_, i) => i !== last);
    }],
    ["empty pack", () => []],
  ];
  for (const [what, objectsOf] of variants) {
    const s = await setup();
    try {
      s.server.pack = packOf(objectsOf(s.expA));
      const r = await s.dxp(["exp", "pull", "origin", "exp-a", "--no-cache"]);
      assert.equal(r.code, 255, `${what}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^ERROR: Git object '[0-9a-f]{40}' of the fetched commits is missing here .*no ref was changed\.\n$/,
      );
      assertUntouched(s);
    } finally {
      await s.cleanup();
    }
  }
});

Deno.test("malicious git: objects that do not hash to the ids the refs and trees name are refused", async () => {
  const tampered = (objects: (RawObject & { oid: string })[], oid: string) =>
    objects.map((o) => {
      if (o.oid !== oid) return o;
      const data = o.data.slice();
      data[data.length - 2] = data[data.length - 2]! ^ 1;
      return { ...o, data };
    });
  for (const target of ["commit", "blob"] as const) {
    const s = await setup();
    try {
      const oid = target === "commit" ? EXP_A : s.expA.find((o) => o.type === "blob")!.oid;
      s.server.pack = packOf(tampered(s.expA, oid));
      const r = await s.dxp(["exp", "pull", "origin", "exp-a", "--no-cache"]);
      assert.equal(r.code, 255, `${target}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`Git object '${oid}' of the fetched commits is missing here`),
      );
      assertUntouched(s);
    } finally {
      await s.cleanup();
    }
  }
});

Deno.test("malicious git: advertised ref names that climb out of refs/exps or hold control characters are ignored", async () => {
  const s = await setup();
  try {
    const weird = [
      "refs/exps/../heads/main",
      "refs/exps/../../heads/main",
      `refs/exps/c8/${MAIN.slice(2)}/../../../heads/main`,
      `refs/exps/c8/${MAIN.slice(2)}/red\x1b[31mname`,
      `refs/exps/c8/${MAIN.slice(2)}/bell\x07`,
      `refs/exps/c8/${MAIN.slice(2)}/new\rline`,
      `refs/exps/c8/${MAIN.slice(2)}/sp ace`,
      `refs/exps/c8/${MAIN.slice(2)}/x.lock`,
    ];
    // Every weird ref points at exp-a's commit, which the pack holds: only the names are wrong.
    s.server.refs = [...s.server.refs, ...weird.map((name) => [name, EXP_A] as [string, string])];
    const list = await s.dxp(["exp", "list", "origin"]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, "main:\n\texp-a\n");
    const r = await s.dxp(["exp", "pull", "origin", "-A", "--no-cache"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, CONTROL, "no control character printed");
    const after = refsOf(s.clone, s.env);
    assert.equal(
      after,
      s.refsBefore.replace(/^(refs\/heads\/main .*\n)/m, `${EXP_A_REF} ${EXP_A}\n$1`),
      "only the valid experiment ref was added; main did not move",
    );
    git(["fsck", "--connectivity-only"], s.clone, s.env);
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious git: 100,000 advertised experiment refs are listed and one of them pulled", async () => {
  const s = await setup();
  try {
    const many: [string, string][] = [["refs/heads/main", MAIN]];
    // exp-a's commit, which the clone lacks (origin.git never had it).
    for (let i = 0; i < 100_000; i++) many.push([`refs/exps/c8/${MAIN.slice(2)}/e${i}`, EXP_A]);
    s.server.refs = many;
    s.server.pack = packOf([]);
    const list = await s.dxp(["exp", "list", "origin", "--name-only"]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.split("\n").filter((l) => l !== "").length, 100_000);
    // The pack is empty: refused, nothing written.
    const refused = await s.dxp(["exp", "pull", "origin", "e99999", "--no-cache"]);
    assert.equal(refused.code, 255);
    assertUntouched(s);
  } finally {
    await s.cleanup();
  }
});

Deno.test("malicious git: a pack that stalls half-way is interrupted by Ctrl-C: exit 252, nothing written", async () => {
  const s = await setup();
  try {
    s.server.stallAfter = Math.floor(s.server.pack.length / 2);
    const pidFile = join(s.clone, "..", "dxp.pid");
    const child = spawn("sh", [
      "-c",
      `"$0" "$@" & echo $! > '${pidFile}'; wait $!; echo "exit=$?" >&2`,
      DXP_BIN,
      "exp",
      "pull",
      "origin",
      "exp-a",
    ], { cwd: s.clone, env: s.env });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
    const closed = new Promise((resolve) => child.on("close", resolve));
    await s.server.stalled;
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGINT");
    await closed;
    assert.match(stderr, /ERROR: interrupted by the user\n/);
    assert.match(stderr, /exit=252\n$/);
    assertUntouched(s);
  } finally {
    await s.cleanup();
  }
});
