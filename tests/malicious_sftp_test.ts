/**
 * dist/dxp against an SFTP server that lies (tests/helpers/fake_sftp_server.ts,
 * launched through DXP_SSH_COMMAND in place of ssh): listings that hold names
 * with `/` or `..` (some looping back to the folder being listed), and
 * answers sent out of order. Transfers stay correct and nothing is written
 * outside the cache.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { DXP_BIN, runAsync } from "./helpers/tmp.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FAKE_SSH =
  `${ROOT}node_modules/.bin/deno run -A --quiet ${ROOT}tests/helpers/fake_sftp_server.ts`;

async function setup(mode: string) {
  const fx = await fixtureCopy("basic");
  const store = join(fx.root, "sftpstore");
  mkdirSync(store);
  const config = `['remote "sftp"']\n    url = ssh://fake.invalid${store}\n`;
  writeFileSync(join(fx.repo, ".dvc", "config.local"), config);
  const clone = fx.freshClone();
  writeFileSync(join(clone, ".dvc", "config.local"), config);
  const env = { ...fx.env, DXP_SSH_COMMAND: FAKE_SSH, DXP_FAKE_SFTP_MODE: mode };
  const dxp = (args: string[], cwd: string) => runAsync(DXP_BIN, args, { cwd, env });
  return { fx, store, clone, dxp };
}

function assertCacheSound(repo: string): void {
  for (const rel of listFiles(join(repo, ".dvc", "cache"))) {
    assert.ok(!rel.endsWith(".tmp"), `temp file ${rel}`);
    const m = /^files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/.exec(rel);
    if (m === null) continue;
    const md5 = createHash("md5").update(readFileSync(join(repo, ".dvc", "cache", rel))).digest(
      "hex",
    );
    assert.equal(md5, m[1]! + m[2]!, rel);
  }
}

Deno.test("malicious sftp: answers out of order still move every object intact (push, then fetch in a clone)", async () => {
  const { fx, store, clone, dxp } = await setup("reorder");
  try {
    const pushed = await dxp(["push", "-r", "sftp"], fx.repo);
    assert.equal(pushed.code, 0, pushed.stderr);
    const files = listFiles(store);
    assert.ok(files.length > 10);
    for (const file of files) {
      assert.deepEqual(
        readFileSync(join(store, file)),
        readFileSync(join(fx.repo, ".dvc", "cache", file)),
        file,
      );
    }
    const fetched = await dxp(["fetch", "-r", "sftp"], clone);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.deepEqual(
      listFiles(join(clone, ".dvc", "cache")).filter((f) => f.startsWith("files/")),
      files,
    );
    assertCacheSound(clone);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("malicious sftp: listed names with '/', '..' or looping back are skipped; nothing escapes the cache", async () => {
  const { fx, store, clone, dxp } = await setup("names");
  try {
    const hex = "c".repeat(64);
    mkdirSync(join(store, "runs", "cc", hex), { recursive: true });
    writeFileSync(join(store, "runs", "cc", hex, hex), "cmd: x\n");
    const r = await dxp(["exp", "pull", "origin", "exp-b", "-r", "sftp", "--run-cache"], clone);
    // 1: exp-b's data was never pushed to this remote; the run cache comes first.
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /ERROR/);
    assert.deepEqual(listFiles(join(clone, ".dvc", "cache", "runs")), [`cc/${hex}/${hex}`]);
    assert.equal(existsSync(join(clone, ".dvc", "escape")), false);
    assert.equal(existsSync(join(clone, "escape")), false);
    assertCacheSound(clone);
  } finally {
    await fx.cleanup();
  }
});
