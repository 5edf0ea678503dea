import { lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { CheckoutHelper, HELPER_AT } from "../../cache/checkout_helper.ts";
import { objectKey } from "../../core/object_key.ts";
import type { FreshOutcome } from "../../cache/fresh_job.ts";
import type { NativeFreshType } from "../../cache/place_fresh_native.ts";
import { DxpError, ExitCode, StoreError } from "../../errors/mod.ts";
import { errnoCode, storeErrorFromErrno } from "../../store/errors.ts";
import { uniqueTempStem } from "../../store/local_write.ts";
import type { WorkspaceGuard } from "../workspace/guard.ts";
import type { Applied, ApplyContext, Ticker } from "./apply.ts";
import type { DirWrites, OutPlan } from "./plan.ts";
import type { DvcOut } from "../../dvc/out.ts";
import {
  type DirManifestFile,
  ManifestNotStreamable,
  openDirManifest,
} from "../../dvc/dir_manifest_file.ts";
import { assertMember, assertNoConflict } from "./manifest_members.ts";

/** What {@link buildFresh} needs besides the apply context. */
export interface FreshContext extends ApplyContext {
  /** Counts of what was written, added to. */
  readonly applied: Applied;
  readonly progress: Ticker;
}

/** A new directory output built aside ({@link buildFresh}), not yet in place. */
export interface FreshBuild {
  readonly plan: OutPlan;
  /** The folder it was built in, beside where it goes. */
  readonly temp: string;
  /** The highest folder made on the way to it (project-relative), removed with it if empty. */
  readonly madeAbove: string | undefined;
}

/**
 * Builds a directory output that is not in the workspace in a temporary
 * folder beside it (`.<name>.<22 chars>.tmp`), every file written whole
 * under its final name there, links made in one step; {@link placeFresh}
 * then renames that folder into place once: a checkout killed at any
 * moment leaves either no output or the whole output, never a half-written
 * file under a real name (the next checkout removes the leftover folder).
 *
 * The manifest is read once, here, and checked as it is read (its hash,
 * layout, order and paths, see `streamDirManifest`): a bad one throws with
 * the folder removed, and since every new output is built before anything
 * else in the workspace changes, nothing has. A manifest not in DVC's exact
 * layout is read whole and checked first, and the folder started again.
 * Returns "missing" when the cache turned out to lack an object (nothing is
 * then left either).
 */
export async function buildFresh(
  plan: OutPlan,
  dir: DirWrites,
  ctx: FreshContext,
): Promise<FreshBuild | "missing"> {
  const out = plan.out;
  const slash = out.path.lastIndexOf("/");
  const parent = slash < 0 ? "" : out.path.slice(0, slash);
  const madeAbove = firstMissing(ctx.guard, parent);
  const temp = `${ctx.guard.abs(parent)}/.${out.path.slice(slash + 1)}.${uniqueTempStem()}.tmp`;
  const build: FreshBuild = { plan, temp, madeAbove };
  let built = false;
  try {
    await ctx.guard.ensureDir(parent);
    mkdirSync(temp);
    const before = countsOf(ctx);
    let result = await fill(out, dir.manifest, temp, dir.count, ctx);
    if (result === NOT_STREAMABLE) {
      setCounts(ctx, before);
      rmSync(temp, { recursive: true, force: true });
      mkdirSync(temp);
      const whole = dir.path === undefined
        ? undefined
        : openDirManifest(dir.path, out.hash, out.scheme);
      // Gone since it was counted: as for any object the cache lacks.
      if (whole === undefined) return "missing";
      result = await fill(out, whole, temp, dir.count, ctx);
    }
    if (result !== undefined) return "missing";
    built = true;
    return build;
  } finally {
    if (!built) discardQuietly(build, ctx.guard);
  }
}

/** Puts a built output in place: one rename. */
export function placeFresh(build: FreshBuild, guard: WorkspaceGuard): void {
  const path = build.plan.out.path;
  try {
    renameSync(build.temp, guard.abs(path));
  } catch (error) {
    throw new DxpError(
      "CheckoutConflict",
      `Cannot put '${path}' in place (${
        (error as NodeJS.ErrnoException).code
      }): something was created there during the checkout; retry.`,
      ExitCode.failure,
      { cause: error },
    );
  }
  guard.forget(path);
}

/**
 * Removes a build that will not be placed, and the folders made for it
 * when nothing else is in them (builds are discarded last first, so
 * folders two builds share go with the first one made).
 */
function discardFresh(build: FreshBuild, guard: WorkspaceGuard): void {
  rmSync(build.temp, { recursive: true, force: true });
  if (build.madeAbove === undefined) return;
  const out = build.plan.out.path;
  for (let dir = out.slice(0, out.lastIndexOf("/")); dir.length >= build.madeAbove.length;) {
    try {
      rmdirSync(guard.abs(dir));
    } catch {
      return; // something else is in it now
    }
    guard.forget(dir);
    dir = dir.slice(0, Math.max(dir.lastIndexOf("/"), 0));
  }
}

/** {@link discardFresh} on the way out of an error: the error is the one to report. */
export function discardQuietly(build: FreshBuild, guard: WorkspaceGuard): void {
  try {
    discardFresh(build, guard);
  } catch {
    // Left for the next checkout, which removes leftover build folders.
  }
}

/** The first folder of `dir` and its parents (project-relative) not in the workspace, if any. */
function firstMissing(guard: WorkspaceGuard, dir: string): string | undefined {
  if (dir === "") return undefined;
  for (let at = dir.indexOf("/");; at = dir.indexOf("/", at + 1)) {
    const prefix = at < 0 ? dir : dir.slice(0, at);
    if (lstatSync(guard.abs(prefix), { throwIfNoEntry: false }) === undefined) return prefix;
    if (at < 0) return undefined;
  }
}

/** {@link fill}'s answer for a manifest not in DVC's exact layout (see ManifestNotStreamable). */
const NOT_STREAMABLE = Symbol("not streamable");

/** What a restarted build must count again. */
function countsOf(ctx: FreshContext) {
  return {
    linked: { ...ctx.applied.linked },
    helper: ctx.applied.helperFiles,
    done: ctx.progress.done,
  };
}

function setCounts(ctx: FreshContext, counts: ReturnType<typeof countsOf>): void {
  Object.assign(ctx.applied.linked, counts.linked);
  ctx.applied.helperFiles = counts.helper;
  ctx.progress.done = counts.done;
}

/**
 * Places every file of `manifest` into `temp`: undefined when all are,
 * else the oid of an object the cache lacks, or NOT_STREAMABLE. `counted`
 * is the number of files progress was told to expect; the difference is
 * told once the manifest is read.
 */
async function fill(
  out: DvcOut,
  manifest: DirManifestFile,
  temp: string,
  counted: number,
  ctx: FreshContext,
): Promise<string | typeof NOT_STREAMABLE | undefined> {
  const total = Math.max(counted, manifest.count);
  const helper = CheckoutHelper.start(total >= HELPER_AT);
  const jobMax = jobMaxFiles(total);
  const deferredBefore = ctx.progress.deferred.length;
  // Set when this attempt is given up (a manifest read whole instead): late
  // answers of the helper and queued big copies then do nothing.
  let abandoned = false;
  try {
    const made = new Set<string>();
    const scheme = out.scheme;
    let missing: string | undefined;
    // One file by node:fs (its folder made already): undefined, or the oid the cache lacks.
    const place = (md5: string, rel: string): string | undefined => {
      const dest = `${temp}/${rel}`;
      const src = ctx.cache.objectPath(md5, scheme);
      const path = `${out.path}/${rel}`;
      let placed;
      try {
        placed = ctx.linker.placeSync(src, dest, { oid: md5, scheme, fresh: true });
      } catch (error) {
        throw namedForWorkspace(path, error);
      }
      if (placed === "missing") return md5;
      if (placed !== "large") {
        ctx.applied.linked[placed.type]++;
        if (placed.ino >= 0) ctx.state.recordApprox(path, placed, md5, scheme);
        return undefined;
      }
      ctx.progress.deferred.push(async () => {
        if (missing !== undefined || abandoned) return;
        if (!(await ctx.cache.has(md5, scheme, ctx.signal))) {
          missing = md5;
          return;
        }
        const type = await ctx.linker.place(src, dest, {});
        ctx.applied.linked[type]++;
        const stats = lstatSync(dest, { throwIfNoEntry: false });
        if (stats !== undefined && type !== "symlink") {
          ctx.state.recordApprox(path, stats, md5, scheme);
        }
        await ctx.progress.tick();
      });
      return undefined;
    };
    // Files go out in jobs, to the helper thread when it has room, else
    // placed here; what neither can place natively goes through `place`.
    let job = newJob();
    const stamp = { ino: 0, mtimeMs: 0, size: 0 };
    const roots = { srcRoot: ctx.cache.paths.root, destRoot: temp };
    const dispatch = () => {
      const { src, rel, md5 } = job;
      if (src.length === 0) return;
      job = newJob();
      const type = ctx.linker.types[0];
      const settle = (outcome: FreshOutcome | undefined, byHelper = false) => {
        if (abandoned) return;
        for (let i = 0; i < src.length && missing === undefined; i++) {
          if (outcome?.placed[i] !== 1) {
            missing = place(md5[i]!, rel[i]!);
            continue;
          }
          ctx.applied.linked[type as NativeFreshType]++;
          stamp.ino = outcome.stamps[3 * i]!;
          stamp.mtimeMs = outcome.stamps[3 * i + 1]!;
          stamp.size = outcome.stamps[3 * i + 2]!;
          ctx.state.recordApprox(`${out.path}/${rel[i]}`, stamp, md5[i]!, scheme);
        }
        ctx.progress.done += src.length;
        if (byHelper) ctx.applied.helperFiles += src.length;
      };
      if (type === "copy" || type === "hardlink") {
        helper.submit({ type, mode: ctx.linker.fileMode, ...roots, src, dest: rel }, settle);
      } else {
        settle(undefined);
      }
    };
    let folder = ""; // of the previous file, "" at the top
    for (const batch of manifest.batches()) {
      // Set before the batch that holds it: no folder is made where a file goes.
      assertNoConflict(manifest, out);
      for (let k = 0; k < batch.md5.length; k++) {
        const md5 = batch.md5[k]!;
        const rel = batch.relpath[k]!;
        assertMember(out.path, rel);
        const cut = rel.lastIndexOf("/");
        // The manifest is sorted: a folder's files come in runs (its subfolders' between them),
        // and a new run is seen here with a cheap check per file.
        const sameFolder = cut < 0
          ? folder === ""
          : cut === folder.length && rel.startsWith(folder);
        const full = job.src.length >= (sameFolder ? jobMax : JOB_FILES);
        if (full) {
          // A job that ends with a folder keeps the two threads in different
          // folders: the kernel makes the entries of one folder one at a time.
          dispatch();
          if (missing !== undefined) return missing;
          const turn = ctx.progress.turn();
          if (turn !== undefined) await turn;
        }
        if (!sameFolder) {
          folder = cut < 0 ? "" : rel.slice(0, cut);
          if (cut > 0) makeDirs(temp, folder, made);
        }
        // Relative to the cache and to the fresh folder (see FreshJob).
        job.src.push(objectKey(md5, scheme));
        job.rel.push(rel);
        job.md5.push(md5);
      }
    }
    dispatch();
    // Nothing more to hand out: what the helper has not started is done here
    // rather than waited for (or dropped, when an object is missing: the build failed).
    if (missing === undefined) helper.takeBack();
    else helper.abandon();
    await helper.settle();
    if (missing !== undefined) return missing;
    await ctx.progress.drain();
    if (missing !== undefined) return missing;
    ctx.progress.expect(manifest.count - counted);
    return undefined;
  } catch (error) {
    if (!(error instanceof ManifestNotStreamable)) throw error;
    abandoned = true;
    ctx.progress.deferred.length = deferredBefore; // big copies into a folder started again
    return NOT_STREAMABLE;
  } finally {
    // The helper must be done writing into the folder before it is removed or
    // renamed; on the way out of a failure, what it has not started never runs.
    helper.abandon();
    await helper.settle().catch(() => undefined);
    helper.close();
  }
}

/**
 * A failed system call while building the folder aside, named by the
 * file's path in the workspace (the folder being built is removed, its
 * name would mean nothing to the user).
 */
function namedForWorkspace(path: string, error: unknown): unknown {
  const cause = error instanceof StoreError ? error.cause : undefined;
  if (errnoCode(cause) === undefined) return error;
  return storeErrorFromErrno(cause, { action: `write '${path}'`, where: path });
}

/**
 * Files per job: the helper holds a few, enough work to last between two
 * turns of the main loop. A job goes on past {@link JOB_FILES} to the end of
 * its folder, up to {@link jobMaxFiles}: with jobs cut inside folders the
 * two threads kept linking into the same folder, one entry at a time for
 * the kernel (measured, 100,000 files in folders of 1,000 on tmpfs: ~430 ms
 * cut every 512 files, ~400 cut at folder ends).
 */
const JOB_FILES = 512;
const JOB_MAX_FILES = 8192;

/**
 * How far a job of an output of `total` files may go on to its folder's
 * end: at most a 64th of the output, so the main thread, once it has
 * handed everything out, waits at most that long for the job the helper is
 * in (measured, 10,000 files in folders of 1,000, tmpfs, jobs cut every 512
 * files instead of at folder ends: copies 122 → 114 ms, hard links 86 → 83
 * ms; 100,000: hard links 371 → 385 ms, hence folder ends from there).
 */
function jobMaxFiles(total: number): number {
  return Math.min(JOB_MAX_FILES, Math.max(JOB_FILES, Math.ceil(total / 64)));
}

function newJob() {
  return { src: [] as string[], rel: [] as string[], md5: [] as string[] };
}

/** Creates `rel` (and the levels above it) inside the fresh folder `root`, once each. */
function makeDirs(root: string, rel: string, made: Set<string>): void {
  if (made.has(rel)) return;
  const cut = rel.lastIndexOf("/");
  if (cut > 0) makeDirs(root, rel.slice(0, cut), made);
  mkdirSync(`${root}/${rel}`);
  made.add(rel);
}

/**
 * Removes what a killed checkout left beside directory output `path`: its
 * temporary build folders (`.<name>.<22 chars>.tmp`). They were never
 * renamed into place, so nothing in them is anyone's data.
 */
export function removeStaleBuilds(guard: WorkspaceGuard, path: string): void {
  const slash = path.lastIndexOf("/");
  const parent = guard.abs(slash < 0 ? "" : path.slice(0, slash));
  const name = path.slice(slash + 1);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const entry of names) {
    if (!entry.startsWith(prefix) || !STEM.test(entry.slice(prefix.length))) continue;
    const abs = `${parent}/${entry}`;
    if (lstatSync(abs, { throwIfNoEntry: false })?.isDirectory()) {
      rmSync(abs, { recursive: true, force: true });
    }
  }
}

const STEM = /^[A-Za-z0-9_-]{22}\.tmp$/;
