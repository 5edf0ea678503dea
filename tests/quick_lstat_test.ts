import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FolderLstat,
  isRegularFile,
  quickLstat,
  quickLstatSource,
} from "../lib/util/quick_lstat.ts";

/** quickLstat's answer, copied (the view is reused), or the error it threw. */
function quick(path: string) {
  try {
    const v = quickLstat(path);
    return v === undefined ? "none" : { ...v };
  } catch (error) {
    return `throws ${(error as NodeJS.ErrnoException).code}`;
  }
}

/**
 * node:fs's answer in the same shape. The mtime comes from GNU stat: Deno's
 * node:fs has it to the millisecond only (Node and Bun, which the binary
 * runs on, to the nanosecond).
 */
function reference(path: string) {
  try {
    const s = lstatSync(path, { throwIfNoEntry: false });
    if (s === undefined) return "none";
    const stat = spawnSync("stat", ["-c", "%.9Y", "--", path], { encoding: "utf8" });
    assert.equal(stat.status, 0, stat.stderr);
    const mtimeMs = Number(stat.stdout.trim()) * 1000;
    return { mode: s.mode, ino: s.ino, size: s.size, mtimeMs };
  } catch (error) {
    return `throws ${(error as NodeJS.ErrnoException).code}`;
  }
}

function assertSameAsNodeFs(path: string, label: string): void {
  const got = quick(path);
  const want = reference(path);
  if (typeof got === "string" || typeof want === "string") {
    assert.equal(got, want, label);
    return;
  }
  assert.equal(got.mode, want.mode, `${label}: mode`);
  assert.equal(got.ino, want.ino, `${label}: ino`);
  assert.equal(got.size, want.size, `${label}: size`);
  // The state compares mtimes to the microsecond.
  assert.ok(
    Math.abs(got.mtimeMs - want.mtimeMs) < 0.001,
    `${label}: ${got.mtimeMs} vs ${want.mtimeMs}`,
  );
}

Deno.test("quickLstat goes through statx on Linux", () => {
  if (Deno.build.os !== "linux") return;
  assert.match(quickLstatSource(), /^statx through libc/);
});

Deno.test("quickLstat answers what node:fs lstat answers, for every kind of entry", () => {
  const dir = mkdtempSync(join(tmpdir(), "dxp-quick-lstat-"));
  try {
    const file = join(dir, "file.bin");
    writeFileSync(file, "sixty-four bytes? no, a few");
    chmodSync(file, 0o444);
    const folder = join(dir, "folder");
    mkdirSync(folder);
    symlinkSync(file, join(dir, "link"));
    symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
    assert.equal(spawnSync("mkfifo", [join(dir, "fifo")]).status, 0);
    // Past 4 GiB: the high half of st_size counts.
    const big = join(dir, "sparse");
    writeFileSync(big, "");
    truncateSync(big, 5 * 2 ** 30 + 7);
    // Before 1970, with a fraction: the signed high half of the seconds counts.
    const old = join(dir, "old");
    writeFileSync(old, "x");
    utimesSync(old, -1.5, -1.5);
    const future = join(dir, "future");
    writeFileSync(future, "y");
    utimesSync(future, 4102444800.25, 4102444800.25); // 2100
    const utf8 = join(dir, "données-ü-日本");
    writeFileSync(utf8, "z");
    for (
      const [label, path] of [
        ["0444 file", file],
        ["folder", folder],
        ["symlink, not followed", join(dir, "link")],
        ["dangling symlink", join(dir, "dangling")],
        ["fifo", join(dir, "fifo")],
        ["sparse 5 GiB file", big],
        ["mtime before 1970", old],
        ["mtime in 2100", future],
        ["non-ASCII name", utf8],
        ["missing", join(dir, "missing")],
        ["below a file (ENOTDIR)", join(file, "child")],
        ["name too long", join(dir, "n".repeat(300))],
        ["path longer than PATH_MAX", join(dir, "d/".repeat(2100))],
        ["path with a NUL", `${file}\0tail`],
      ] as const
    ) assertSameAsNodeFs(path, label);
    assert.equal(isRegularFile(quickLstat(file)!), true);
    assert.equal(isRegularFile(quickLstat(folder)!), false);
    assert.equal(isRegularFile(quickLstat(join(dir, "link"))!), false);
    assert.equal(quickLstat(big)!.size, 5 * 2 ** 30 + 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("FolderLstat answers what quickLstat of the full path answers, folder after folder", () => {
  const dir = mkdtempSync(join(tmpdir(), "dxp-folder-lstat-"));
  const folders = new FolderLstat();
  try {
    mkdirSync(join(dir, "a", "deep"), { recursive: true });
    writeFileSync(join(dir, "a", "one"), "1");
    writeFileSync(join(dir, "a", "two"), "22");
    symlinkSync(join(dir, "a", "one"), join(dir, "a", "link"));
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "b", "three"), "333");
    symlinkSync(join(dir, "b"), join(dir, "to-b"));
    writeFileSync(join(dir, "plain"), "not a folder");
    const asks: [string, string][] = [
      ["a", "one"],
      ["a", "two"],
      ["a", "deep"],
      ["a", "link"],
      ["a", "absent"],
      ["b", "three"],
      ["gone", "x"], // a missing folder
      ["gone", "y"],
      ["plain", "x"], // a file where a folder should be (ENOTDIR)
      ["to-b", "three"], // a symlinked folder is followed, as a full path would be
      ["a", "one"],
    ];
    for (const [folder, name] of asks) {
      const got = (() => {
        try {
          const v = folders.lstat(join(dir, folder), name);
          return v === undefined ? "none" : { ...v };
        } catch (error) {
          return `throws ${(error as NodeJS.ErrnoException).code}`;
        }
      })();
      assert.deepEqual(got, quick(join(dir, folder, name)), `${folder}/${name}`);
    }
  } finally {
    folders.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("FolderLstat looks names up under the folder it opened, and close() lets it go", () => {
  if (Deno.build.os !== "linux") return;
  const dir = mkdtempSync(join(tmpdir(), "dxp-folder-lstat-"));
  const folders = new FolderLstat();
  const openFds = () => readdirSync("/proc/self/fd").length;
  try {
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "one"), "1");
    const before = openFds();
    assert.equal(folders.lstat(join(dir, "a"), "one")?.size, 1);
    assert.equal(openFds(), before + 1, "one handle for the folder");
    // Moved away: a full path finds nothing there now, the open handle still does.
    renameSync(join(dir, "a"), join(dir, "moved"));
    assert.equal(quickLstat(join(dir, "a", "one")), undefined);
    assert.equal(folders.lstat(join(dir, "a"), "one")?.size, 1);
    folders.close();
    assert.equal(openFds(), before);
  } finally {
    folders.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
