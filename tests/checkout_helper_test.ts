/**
 * The native placement of files into a fresh folder (copies with O_EXCL and
 * hard links through libc), in jobs, on the main thread and in the helper
 * thread: what it makes, the stamps it reports, and every case it must
 * leave to node:fs without leaving anything behind.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { CheckoutHelper } from "../lib/cache/checkout_helper.ts";
import { started } from "./helpers/checkout_thread.ts";
import {
  type FreshJob,
  type FreshOutcome,
  packFreshJob,
  runFreshJob,
  unpackFreshJob,
} from "../lib/cache/fresh_job.ts";
import { nativeFreshAvailable } from "../lib/cache/place_fresh_native.ts";

const MODE = 0o644 & ~process.umask();

/** A cache folder and a fresh folder, and the roots of a job between them. */
function scratch() {
  const root = mkdtempSync(join(tmpdir(), "dxp-fresh-"));
  const cache = join(root, "cache");
  const out = join(root, "out");
  mkdirSync(cache);
  mkdirSync(out);
  return { root, cache, out, roots: { srcRoot: cache, destRoot: out } };
}

function cleanup(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** A trusted (0444) cache object with `bytes`; its name, as jobs give it (relative to the cache). */
function object(cache: string, name: string, bytes: string | Uint8Array, mode = 0o444): string {
  const path = join(cache, name);
  writeFileSync(path, bytes);
  chmodSync(path, mode);
  return name;
}

function stampOf(outcome: FreshOutcome, i: number) {
  return {
    ino: outcome.stamps[3 * i],
    mtimeMs: outcome.stamps[3 * i + 1],
    size: outcome.stamps[3 * i + 2],
  };
}

/** Stamps equal as the state compares them: mtimes to the microsecond (doubles of ms differ in the last bit). */
function assertSameStamp(
  got: { ino: number | undefined; mtimeMs: number | undefined; size: number | undefined },
  want: { ino: number; mtimeMs: number; size: number },
  label: string,
): void {
  assert.equal(got.ino, want.ino, `${label}: ino`);
  assert.equal(got.size, want.size, `${label}: size`);
  assert.ok(
    Math.abs(got.mtimeMs! - want.mtimeMs) < 0.001,
    `${label}: mtime ${got.mtimeMs} vs ${want.mtimeMs}`,
  );
}

/** The stamp of `path` from GNU stat: Deno's node:fs has mtimes to the millisecond only. */
function lstamp(path: string) {
  const stat = spawnSync("stat", ["-c", "%i %s %.9Y", "--", path], { encoding: "utf8" });
  assert.equal(stat.status, 0, stat.stderr);
  const [ino, size, mtime] = stat.stdout.trim().split(" ");
  return { ino: Number(ino), mtimeMs: Number(mtime) * 1000, size: Number(size) };
}

Deno.test("native placement is available on this Linux (else every test below proves nothing)", () => {
  assert.equal(nativeFreshAvailable(), process.platform === "linux");
});

Deno.test("runFreshJob copies trusted objects into new files with the mode asked and reports their stamps", () => {
  const { root, cache, out, roots } = scratch();
  try {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const job: FreshJob = {
      type: "copy",
      mode: MODE,
      ...roots,
      src: [
        object(cache, "a", "alpha\n"),
        object(cache, "empty", ""),
        object(cache, "big", big),
      ],
      dest: ["a.txt", "empty", "big.bin"],
    };
    const outcome = runFreshJob(job);
    assert.deepEqual([...outcome.placed], [1, 1, 1]);
    assert.equal(readFileSync(join(out, "a.txt"), "utf8"), "alpha\n");
    assert.equal(readFileSync(join(out, "empty")).length, 0);
    assert.deepEqual(new Uint8Array(readFileSync(join(out, "big.bin"))), big);
    job.dest.forEach((name, i) => {
      const dest = join(out, name);
      const st = lstatSync(dest);
      assert.equal(st.mode & 0o777, MODE, dest);
      assert.notEqual(st.ino, lstatSync(join(cache, job.src[i]!)).ino, "a copy, not a link");
      assertSameStamp(stampOf(outcome, i), lstamp(dest), `stamp of ${dest}`);
    });
  } finally {
    cleanup(root);
  }
});

Deno.test("runFreshJob hard-links trusted objects and reports the object's stamp", () => {
  const { root, cache, out, roots } = scratch();
  try {
    const src = object(cache, "a", "alpha\n");
    const outcome = runFreshJob({
      type: "hardlink",
      mode: MODE,
      ...roots,
      src: [src],
      dest: ["a"],
    });
    assert.deepEqual([...outcome.placed], [1]);
    assert.equal(lstatSync(join(out, "a")).ino, lstatSync(join(cache, src)).ino);
    assertSameStamp(stampOf(outcome, 0), lstamp(join(cache, src)), "stamp of the link");
  } finally {
    cleanup(root);
  }
});

Deno.test("runFreshJob leaves to node:fs, with nothing made, every object it must not trust and every file it cannot make", () => {
  const { root, cache, out, roots } = scratch();
  try {
    const good = object(cache, "good", "good\n");
    const unprotected = object(cache, "loose", "loose\n", 0o644);
    const tooBig = object(cache, "huge", new Uint8Array(1024 * 1024 + 1));
    const empty = object(cache, "empty", "");
    symlinkSync(join(cache, good), join(cache, "link"));
    mkdirSync(join(cache, "folder"));
    writeFileSync(join(out, "taken"), "someone else's\n");
    const cases: [string, string, FreshJob["type"]][] = [
      [unprotected, "copy of an unprotected object", "copy"],
      [unprotected, "link to an unprotected object", "hardlink"],
      [tooBig, "copy of an object over 1 MiB", "copy"],
      [empty, "link to an empty object (the inode's link limit)", "hardlink"],
      ["missing", "missing object", "copy"],
      ["missing", "missing object linked", "hardlink"],
      ["link", "symlink in the cache", "copy"],
      ["link", "symlink in the cache linked", "hardlink"],
      ["folder", "folder in the cache", "copy"],
      [good, "path with a NUL", "copy"],
    ];
    for (const [src, label, type] of cases) {
      const dest = label.includes("NUL") ? "a\0b" : "x";
      const outcome = runFreshJob({ type, mode: MODE, ...roots, src: [src], dest: [dest] });
      assert.deepEqual([...outcome.placed], [0], label);
      assert.deepEqual(readdirSync(out).sort(), ["taken"], `${label}: nothing left`);
    }
    for (const type of ["copy", "hardlink"] as const) {
      const outcome = runFreshJob({ type, mode: MODE, ...roots, src: [good], dest: ["taken"] });
      assert.deepEqual([...outcome.placed], [0], `${type} over an existing file`);
      assert.equal(readFileSync(join(out, "taken"), "utf8"), "someone else's\n");
    }
    // A missing folder for the new file: not made, nothing left.
    const outcome = runFreshJob({
      type: "copy",
      mode: MODE,
      ...roots,
      src: [good],
      dest: ["no/x"],
    });
    assert.deepEqual([...outcome.placed], [0]);
    assert.deepEqual(readdirSync(out).sort(), ["taken"]);
  } finally {
    cleanup(root);
  }
});

Deno.test("a job packed for the helper thread unpacks to the same lists; a NUL in a path makes it place nothing", () => {
  const job: FreshJob = {
    type: "hardlink",
    mode: MODE,
    srcRoot: "/c",
    destRoot: "/w/.data.x.tmp",
    src: ["files/md5/ab/cd", "files/md5/ef/01"],
    dest: ["a b/é.txt", "c"],
  };
  assert.deepEqual(unpackFreshJob(packFreshJob(job)), job);
  const one: FreshJob = { ...job, src: [job.src[0]!], dest: [job.dest[0]!] };
  assert.deepEqual(unpackFreshJob(packFreshJob(one)), one);

  const { root, cache, out, roots } = scratch();
  try {
    const src = object(cache, "a", "alpha\n");
    const bad = unpackFreshJob(
      packFreshJob({
        type: "copy",
        mode: MODE,
        ...roots,
        src: [src, src],
        dest: ["a\0b", "c"],
      }),
    );
    assert.equal(bad.src.length, 2);
    assert.deepEqual([...runFreshJob(bad).placed], [0, 0]);
    assert.deepEqual(readdirSync(out), []);
  } finally {
    cleanup(root);
  }
});

Deno.test("CheckoutHelper: jobs go to the helper thread when it has room, the rest run here; settle waits for all", async () => {
  const { root, cache, out, roots } = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    const src = object(cache, "a", "alpha\n");
    await started(helper);
    const byHelper: boolean[] = [];
    const placed: number[] = [];
    for (let j = 0; j < 10; j++) {
      const dest = Array.from({ length: 50 }, (_, i) => `f${j}-${i}`);
      helper.submit(
        { type: "copy", mode: MODE, ...roots, src: dest.map(() => src), dest },
        (o, by) => {
          byHelper.push(by);
          placed.push(o.placed.reduce((a, b) => a + b, 0));
        },
      );
    }
    await helper.settle();
    assert.equal(byHelper.length, 10, "every job answered once");
    assert.deepEqual(placed, Array(10).fill(50));
    // At most four wait in the helper; the others ran on this thread at once.
    assert.equal(byHelper.filter((b) => b).length, 4);
    assert.equal(readdirSync(out).length, 500);
    for (const name of readdirSync(out)) {
      assert.equal(readFileSync(join(out, name), "utf8"), "alpha\n");
    }
  } finally {
    helper.close();
    cleanup(root);
  }
});

Deno.test("CheckoutHelper: an error in a job's callback is thrown by settle after every job sent is answered", async () => {
  const { root, cache, out, roots } = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    const src = object(cache, "a", "alpha\n");
    await started(helper);
    let answered = 0;
    for (let j = 0; j < 3; j++) {
      const dest = [`f${j}`];
      helper.submit({ type: "copy", mode: MODE, ...roots, src: [src], dest }, () => {
        answered++;
        if (j === 0) throw new Error("bad stamp");
      });
    }
    await assert.rejects(helper.settle(), /bad stamp/);
    assert.equal(answered, 3, "the jobs already sent were all answered first");
    assert.throws(
      () =>
        helper.submit({ type: "copy", mode: MODE, ...roots, src: [src], dest: ["g"] }, () => {}),
      /bad stamp/,
    );
    assert.deepEqual(readdirSync(out).sort(), ["f0", "f1", "f2"]);
  } finally {
    helper.close();
    cleanup(root);
  }
});

Deno.test("CheckoutHelper without a thread runs every job at once on this thread", async () => {
  const { root, cache, out, roots } = scratch();
  const helper = CheckoutHelper.start(false);
  try {
    const src = object(cache, "a", "alpha\n");
    let seen: boolean | undefined;
    helper.submit({ type: "copy", mode: MODE, ...roots, src: [src], dest: ["a"] }, (_, by) => {
      seen = by;
    });
    assert.equal(seen, false, "answered before submit returned");
    assert.equal(helper.threaded, false);
    await helper.settle();
    assert.equal(readFileSync(join(out, "a"), "utf8"), "alpha\n");
  } finally {
    helper.close();
    cleanup(root);
  }
});

Deno.test("runFreshJob names files under its roots, into subfolders; roots it cannot open place nothing", () => {
  const { root, cache, out, roots } = scratch();
  try {
    mkdirSync(join(cache, "files", "md5", "ab"), { recursive: true });
    const src = object(cache, "files/md5/ab/cdef", "deep\n");
    mkdirSync(join(out, "sub", "deeper"), { recursive: true });
    for (const type of ["copy", "hardlink"] as const) {
      const dest = `sub/deeper/${type}.txt`;
      const outcome = runFreshJob({ type, mode: MODE, ...roots, src: [src], dest: [dest] });
      assert.deepEqual([...outcome.placed], [1], type);
      assert.equal(readFileSync(join(out, dest), "utf8"), "deep\n");
      assertSameStamp(stampOf(outcome, 0), lstamp(join(out, dest)), `stamp of the ${type}`);
    }
    // Relative to the roots, not to the working directory: the same names elsewhere are not there.
    const elsewhere = { srcRoot: out, destRoot: cache };
    const moved = runFreshJob({ type: "copy", mode: MODE, ...elsewhere, src: [src], dest: ["x"] });
    assert.deepEqual([...moved.placed], [0]);
    for (
      const missing of [{ ...roots, srcRoot: join(root, "gone") }, {
        ...roots,
        destRoot: join(root, "gone"),
      }]
    ) {
      const outcome = runFreshJob({
        type: "copy",
        mode: MODE,
        ...missing,
        src: [src],
        dest: ["y"],
      });
      assert.deepEqual([...outcome.placed], [0]);
    }
    assert.deepEqual(readdirSync(out).sort(), ["sub"]);
    assert.deepEqual(readdirSync(join(out, "sub", "deeper")).sort(), ["copy.txt", "hardlink.txt"]);
  } finally {
    cleanup(root);
  }
});

Deno.test("CheckoutHelper: a thread that dies while placing files fails the build: settle and every later job throw", async () => {
  const { root, cache, out, roots } = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    const src = object(cache, "a", "alpha\n");
    await started(helper);
    // Packed without path strings: the thread throws reading it and is gone.
    const broken = { length: 1, join: () => 42 } as unknown as string[];
    let answered = false;
    helper.submit({ type: "copy", mode: MODE, ...roots, src: broken, dest: broken }, () => {
      answered = true;
    });
    // A job waiting behind it is not run anywhere: the folder is thrown away.
    let behind = false;
    helper.submit({ type: "copy", mode: MODE, ...roots, src: [src], dest: ["behind"] }, () => {
      behind = true;
    });
    await assert.rejects(helper.settle(), /helper thread failed/);
    assert.equal(answered, false, "never answered: what it placed is unknown");
    assert.equal(behind, false, "the job behind it never ran");
    assert.equal(helper.threaded, false);
    // The caller throws the folder away: nothing more is placed for it.
    assert.throws(
      () =>
        helper.submit({ type: "copy", mode: MODE, ...roots, src: [src], dest: ["b"] }, () => {}),
      /helper thread failed/,
    );
    assert.deepEqual(readdirSync(out), []);
  } finally {
    helper.close();
    cleanup(root);
  }
});

/** `count` jobs of `files` copies of `src` each, into f<job>-<i>; answers recorded per job. */
function submitJobs(
  helper: CheckoutHelper,
  roots: { srcRoot: string; destRoot: string },
  src: string,
  count: number,
  files: number,
) {
  const answers: { job: number; byHelper: boolean; placed: number }[] = [];
  for (let j = 0; j < count; j++) {
    const dest = Array.from({ length: files }, (_, i) => `f${j}-${i}`);
    helper.submit(
      { type: "copy", mode: MODE, ...roots, src: dest.map(() => src), dest },
      (o, byHelper) => answers.push({ job: j, byHelper, placed: o.placed.reduce((a, b) => a + b) }),
    );
  }
  return answers;
}

/** Every file of `count` jobs of `files` is in `out` once, with `text`. */
function assertAllPlaced(out: string, count: number, files: number, text: string): void {
  const names = readdirSync(out);
  assert.equal(names.length, count * files);
  for (const name of names) assert.equal(readFileSync(join(out, name), "utf8"), text);
}

Deno.test("CheckoutHelper: jobs the thread has not started are taken back, last first, and run here; each runs once", async () => {
  const { root, cache, out, roots } = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    const src = object(cache, "a", "alpha\n");
    await started(helper);
    // Four jobs wait for the thread; it cannot have started the last ones
    // by the time this synchronous code takes them back.
    const answers = submitJobs(helper, roots, src, 4, 400);
    assert.equal(answers.length, 0, "all four were sent to the thread");
    const taken = helper.takeBack();
    assert.ok(taken >= 1 && taken <= 4, `taken back: ${taken}`);
    assert.deepEqual(
      answers.map((a) => [a.job, a.byHelper]),
      Array.from({ length: taken }, (_, k) => [3 - k, false]),
      "the last jobs ran here at once, last first",
    );
    await helper.settle();
    assert.equal(helper.takeBack(), 0, "nothing left to take back");
    assert.deepEqual(answers.map((a) => a.job).sort(), [0, 1, 2, 3], "every job answered once");
    assert.ok(answers.every((a) => a.placed === 400), "no file failed (none placed twice)");
    assert.equal(answers.filter((a) => a.byHelper).length, 4 - taken);
    assertAllPlaced(out, 4, 400, "alpha\n");
  } finally {
    helper.close();
    cleanup(root);
  }
});

Deno.test("CheckoutHelper: jobs submitted while the thread starts wait for it", async () => {
  const { root, cache, out, roots } = scratch();
  const helper = CheckoutHelper.start(true);
  try {
    const src = object(cache, "a", "alpha\n");
    assert.ok(helper.starting, "the thread has not answered yet");
    const answers = submitJobs(helper, roots, src, 3, 20);
    assert.equal(answers.length, 0, "none ran here");
    await helper.settle();
    assert.deepEqual(answers.map((a) => [a.job, a.byHelper, a.placed]), [
      [0, true, 20],
      [1, true, 20],
      [2, true, 20],
    ]);
    assertAllPlaced(out, 3, 20, "alpha\n");
  } finally {
    helper.close();
    cleanup(root);
  }
});

/**
 * Runs `body` with a CheckoutHelper whose thread runs the module `source`
 * (a fault injected in place of the real helper), over a scratch cache
 * holding one object `src`.
 */
async function withFaultyThread(
  source: string,
  body: (
    t: ReturnType<typeof scratch> & { helper: CheckoutHelper; src: string },
  ) => Promise<void>,
): Promise<void> {
  const dirs = scratch();
  const module = join(dirs.root, "faulty_worker.ts");
  writeFileSync(module, source);
  const helper = CheckoutHelper.start(true, new URL(`file://${module}`).href);
  try {
    await body({ ...dirs, helper, src: object(dirs.cache, "a", "alpha\n") });
  } finally {
    helper.close();
    cleanup(dirs.root);
  }
}

Deno.test("CheckoutHelper: a thread that cannot start hands back the jobs sent to it; they run here and nothing fails", () =>
  // A helper module that fails as it loads.
  withFaultyThread(
    'throw new Error("cannot load");\n',
    async ({ root, out, roots, helper, src }) => {
      const answers = submitJobs(helper, roots, src, 2, 10);
      assert.equal(answers.length, 0, "sent to the thread while it started");
      await helper.settle();
      assert.deepEqual(answers.map((a) => [a.job, a.byHelper, a.placed]), [
        [0, false, 10],
        [1, false, 10],
      ]);
      assert.equal(helper.threaded, false);
      assertAllPlaced(out, 2, 10, "alpha\n");
      // Later jobs run here at once.
      const laterRoot = join(root, "later");
      mkdirSync(laterRoot);
      const later = submitJobs(helper, { ...roots, destRoot: laterRoot }, src, 1, 5);
      assert.deepEqual(later.map((a) => [a.byHelper, a.placed]), [[false, 5]]);
      assertAllPlaced(laterRoot, 1, 5, "alpha\n");
    },
  ));

Deno.test("CheckoutHelper: jobs sent to a thread that never starts are taken back or dropped, and settle does not wait for them", () =>
  // A helper module that never finishes loading: it neither answers nor fails.
  withFaultyThread("await new Promise(() => {});\n", async ({ root, out, roots, helper, src }) => {
    const answers = submitJobs(helper, roots, src, 3, 10);
    assert.equal(answers.length, 0, "sent to the thread while it started");
    assert.equal(helper.takeBack(), 3);
    await helper.settle(); // returns: nothing the thread took
    assert.deepEqual(answers.map((a) => [a.job, a.byHelper, a.placed]), [
      [2, false, 10],
      [1, false, 10],
      [0, false, 10],
    ]);
    assertAllPlaced(out, 3, 10, "alpha\n");

    // A build given up: what was sent is dropped, never run, never answered.
    const dropped = join(root, "dropped");
    mkdirSync(dropped);
    const late = submitJobs(helper, { ...roots, destRoot: dropped }, src, 2, 10);
    helper.abandon();
    await helper.settle();
    assert.equal(late.length, 0);
    assert.deepEqual(readdirSync(dropped), []);
  }));

Deno.test("CheckoutHelper: a thread that answers another job than the one due fails the build; what it placed is not trusted", () =>
  // Takes every placing job it gets, places nothing, and answers with the wrong number.
  withFaultyThread(
    `globalThis.onmessage = (event) => {
      const m = event.data;
      if (m.claim) Atomics.compareExchange(m.claim, 0, 0, 1);
      globalThis.postMessage({ seq: m.seq + 100, outcome: { placed: new Uint8Array(1).fill(1), stamps: new Float64Array(3) } });
    };
    globalThis.postMessage("ready");
`,
    async ({ out, roots, helper, src }) => {
      await started(helper);
      const answers = submitJobs(helper, roots, src, 1, 1);
      await assert.rejects(
        helper.settle(),
        /helper thread failed \(it answered a job it was not asked/,
      );
      assert.deepEqual(answers, [], "its outcome went to no job");
      assert.deepEqual(readdirSync(out), []);
    },
  ));
