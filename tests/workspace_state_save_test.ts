/**
 * The workspace state is written only when it changed: a no-op checkout or
 * status must not rewrite `.dvc/tmp/dxp/checkout-state.json` (49 bytes a
 * file: 49 MB at a million files), and every real change must reach it.
 */
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkspaceState } from "../lib/engine/workspace/state.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";

function scratchDvcDir(): { root: string; dvcDir: string; file: string } {
  const root = mkdtempSync(join(tmpdir(), "dxp-state-"));
  const dvcDir = join(root, ".dvc");
  mkdirSync(dvcDir);
  return { root, dvcDir, file: join(dvcDir, "tmp", "dxp", "checkout-state.json") };
}

/** The inode of the state file: a save writes a new file and renames it over the old one. */
function inode(file: string): number | undefined {
  return lstatSync(file, { throwIfNoEntry: false })?.ino;
}

Deno.test("WorkspaceState.save writes only what changed since it was read", async () => {
  const { root, dvcDir, file } = scratchDvcDir();
  try {
    // Nothing known and nothing learnt: no file made.
    await (await WorkspaceState.load(dvcDir)).save();
    assert.equal(inode(file), undefined);

    const first = await WorkspaceState.load(dvcDir);
    first.recordApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, A, "md5");
    first.outs.set("data", { oid: `${B}.dir`, isDir: true });
    await first.save();
    const written = inode(file);
    assert.notEqual(written, undefined);

    // Read, looked up, the same stamp recorded again, saved: the file stays as it was.
    const again = await WorkspaceState.load(dvcDir);
    assert.equal(again.lookupApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, "md5"), A);
    again.recordApprox("data/a", { ino: 1, mtimeMs: 1000, size: 64 }, A, "md5");
    again.outs.set("data", { oid: `${B}.dir`, isDir: true });
    await again.save();
    assert.equal(inode(file), written, "a no-op does not rewrite the state");

    // Each kind of change is written, and read back.
    const changes: [string, (s: WorkspaceState) => void, (s: WorkspaceState) => void][] = [
      [
        "a new stamp",
        (s) => s.recordApprox("data/a", { ino: 2, mtimeMs: 1000, size: 64 }, A, "md5"),
        (s) =>
          assert.equal(s.lookupApprox("data/a", { ino: 2, mtimeMs: 1000, size: 64 }, "md5"), A),
      ],
      [
        "a forgotten file",
        (s) => s.forget("data/a"),
        (s) =>
          assert.equal(
            s.lookupApprox("data/a", { ino: 2, mtimeMs: 1000, size: 64 }, "md5"),
            undefined,
          ),
      ],
      [
        "another output oid",
        (s) => s.outs.set("data", { oid: `${A}.dir`, isDir: true }),
        (s) => assert.equal(s.outs.get("data")?.oid, `${A}.dir`),
      ],
      [
        "an output dropped",
        (s) => s.outs.delete("data"),
        (s) => assert.equal(s.outs.has("data"), false),
      ],
    ];
    for (const [label, change, check] of changes) {
      const before = inode(file);
      const state = await WorkspaceState.load(dvcDir);
      change(state);
      await state.save();
      assert.notEqual(inode(file), before, `${label}: written`);
      check(await WorkspaceState.load(dvcDir));
      const after = inode(file);
      await (await WorkspaceState.load(dvcDir)).save();
      assert.equal(inode(file), after, `${label}: then a no-op again`);
    }

    // A damaged file is replaced by the next save, even with nothing learnt.
    writeFileSync(file, "dxp-workspace-state 3\n[not json\n");
    const damaged = inode(file);
    await (await WorkspaceState.load(dvcDir)).save();
    assert.notEqual(inode(file), damaged, "a damaged state is rewritten");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
