/**
 * Looking up the files of a big directory output in the workspace: lstat
 * jobs on the main thread and on the checkout's helper thread (same answers,
 * lookups handed back here when the thread dies), and the workspace listed
 * a few folders at a time beside them.
 */
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckoutHelper } from "../lib/cache/checkout_helper.ts";
import { started } from "./helpers/checkout_thread.ts";
import {
  askAllAgain,
  LSTAT_ASK_AGAIN,
  LSTAT_MISSING,
  type LstatJob,
  packLstatJob,
  runLstatJob,
  unpackLstatJob,
} from "../lib/util/lstat_job.ts";

const lstatJob = (root: string, names: string[]): LstatJob => ({ root, names });
import { countTree, TreeCounter } from "../lib/engine/workspace/scan.ts";
import { WorkspaceGuard } from "../lib/engine/workspace/guard.ts";

/** A folder with `a.txt`, `sub/b.txt`, `sub/deep/c.txt`, a symlink and a file where a folder might be. */
function scratch(): string {
  const root = mkdtempSync(join(tmpdir(), "dxp-lstat-"));
  mkdirSync(join(root, "sub", "deep"), { recursive: true });
  writeFileSync(join(root, "a.txt"), "alpha\n");
  writeFileSync(join(root, "sub", "b.txt"), "beta beta\n");
  writeFileSync(join(root, "sub", "deep", "c.txt"), "c\n");
  symlinkSync("a.txt", join(root, "sub", "link"));
  writeFileSync(join(root, "plain"), "not a folder\n");
  return root;
}

const NAMES = [
  "a.txt",
  "gone.txt",
  "nofolder/x.txt",
  "plain/x.txt",
  "sub/b.txt",
  "sub/deep/c.txt",
  "sub/link",
];

/** What a lookup of each of NAMES must say, from node:fs ("again" where it throws). */
function expected(root: string): (number[] | "missing" | "again")[] {
  return NAMES.map((name) => {
    let st;
    try {
      st = lstatSync(join(root, name), { throwIfNoEntry: false });
    } catch {
      return "again";
    }
    return st === undefined ? "missing" : [st.mode, st.ino, st.size];
  });
}

function answers(stamps: Float64Array): (number[] | "missing" | "again")[] {
  return NAMES.map((_, i) => {
    const mode = stamps[4 * i]!;
    if (mode === LSTAT_MISSING) return "missing";
    if (mode === LSTAT_ASK_AGAIN) return "again";
    return [mode, stamps[4 * i + 1]!, stamps[4 * i + 3]!];
  });
}

Deno.test("runLstatJob: every name looked up under its folder as lstat says; a path through a file or a name with a NUL is asked again; packed names come back whole or not at all", () => {
  const root = scratch();
  try {
    const got = answers(runLstatJob(lstatJob(root, NAMES)).stamps);
    const want = expected(root);
    // Through a file (ENOTDIR) the call fails otherwise than "nothing there": the caller asks.
    assert.equal(want[NAMES.indexOf("plain/x.txt")], "again");
    assert.equal(want[NAMES.indexOf("gone.txt")], "missing");
    assert.equal(want[NAMES.indexOf("nofolder/x.txt")], "missing");
    assert.deepEqual(got, want);
    // The symlink itself, not its target; the mtime as node:fs gives it, to the ms.
    const link = runLstatJob(lstatJob(root, ["sub/link"])).stamps;
    assert.equal(link[0]! & 0o170000, 0o120000);
    const b = runLstatJob(lstatJob(root, ["sub/b.txt"])).stamps;
    assert.ok(Math.abs(b[2]! - lstatSync(join(root, "sub", "b.txt")).mtimeMs) < 1);

    // A NUL in a name: that name is asked again by the caller (node:fs refuses it there).
    const withNul = answers2(runLstatJob(lstatJob(root, ["a.txt", "sub/b\0.txt"])).stamps);
    assert.notEqual(withNul[0], LSTAT_ASK_AGAIN);
    assert.equal(withNul[1], LSTAT_ASK_AGAIN);
    // Packed for the thread, the names come back as they were; with a NUL inside one, not at all.
    assert.deepEqual(unpackLstatJob(packLstatJob(lstatJob(root, NAMES))), lstatJob(root, NAMES));
    const packed = packLstatJob(lstatJob(root, ["a.txt", "sub/b\0.txt"]));
    assert.equal(unpackLstatJob(packed), undefined);
    assert.deepEqual([...askAllAgain(packed).stamps], Array(8).fill(LSTAT_ASK_AGAIN));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** The mode found for each name. */
function answers2(stamps: Float64Array): number[] {
  return Array.from({ length: stamps.length / 4 }, (_, i) => stamps[4 * i]!);
}

Deno.test("CheckoutHelper.lstat: the thread answers every job asked ahead, as runLstatJob does here, in order", async () => {
  const root = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    await started(helper);
    const jobs = Array.from({ length: 12 }, () => lstatJob(root, NAMES));
    const outcomes = jobs.map((job) => helper.lstat(job));
    const want = answers(runLstatJob(lstatJob(root, NAMES)).stamps);
    for (const outcome of outcomes) assert.deepEqual(answers((await outcome).stamps), want);
    // Not limited to the four placing jobs it may hold: all twelve went to the thread.
    assert.equal(helper.lookedUp, 12 * NAMES.length);
    await helper.settle();
  } finally {
    helper.close();
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("CheckoutHelper.lstat: a thread that dies hands its lookups back (made here), later ones run here, and nothing is reported failed", async () => {
  const root = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    await started(helper);
    // A job the thread cannot even read (packed without a names string): it throws there, the thread is gone.
    const broken = { root, names: { length: 1, join: () => 42 } } as unknown as LstatJob;
    const good = lstatJob(root, NAMES);
    const first = helper.lstat(good);
    const crash = helper.lstat(broken);
    const after = helper.lstat(good);
    const want = answers(runLstatJob(good).stamps);
    assert.deepEqual(answers((await first).stamps), want);
    // Made here again, the broken job fails here too: its own error, not a hang.
    await assert.rejects(crash, TypeError);
    assert.deepEqual(answers((await after).stamps), want);
    assert.equal(helper.threaded, false);
    assert.deepEqual(answers((await helper.lstat(good)).stamps), want);
    await helper.settle(); // lookups change nothing: no failure to report
  } finally {
    helper.close();
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("TreeCounter: listing a few entries at a time counts what countTree counts at once", () => {
  const root = mkdtempSync(join(tmpdir(), "dxp-count-"));
  try {
    for (let d = 0; d < 7; d++) {
      mkdirSync(join(root, "out", `d${d}`, "inner"), { recursive: true });
      for (let f = 0; f < 5 + d; f++) writeFileSync(join(root, "out", `d${d}`, `f${f}`), "x");
      writeFileSync(join(root, "out", `d${d}`, "inner", "g"), "y");
    }
    writeFileSync(join(root, "out", "d3", ".AAAAAAAAAAAAAAAAAAAAAA.tmp"), "half");
    symlinkSync("d0", join(root, "out", "to-d0"));
    const guard = new WorkspaceGuard(root);
    const whole = countTree(guard, "out");
    assert.equal(whole.files, 7 * 5 + 21 + 7 + 1, "files, inner files and the symlink");
    assert.deepEqual(whole.temps, ["out/d3/.AAAAAAAAAAAAAAAAAAAAAA.tmp"]);
    assert.equal(whole.dirs.length, 14);
    for (const d of whole.dirs) {
      const parent = d.slice(0, d.lastIndexOf("/"));
      assert.ok(parent === "out" || whole.dirs.indexOf(parent) < whole.dirs.indexOf(d), d);
    }
    for (const step of [1, 3, 10]) {
      const counter = new TreeCounter(guard, "out");
      let steps = 0;
      while (!counter.done) {
        counter.step(step);
        steps++;
      }
      assert.ok(steps > 3, `${steps} steps of ${step}`);
      assert.equal(counter.count.files, whole.files);
      assert.deepEqual(counter.count.temps, whole.temps);
      assert.deepEqual([...counter.count.dirs].sort(), [...whole.dirs].sort());
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
