import { lstatSync } from "node:fs";
import { readdir, rm, rmdir, unlink } from "node:fs/promises";
import type { LocalCache } from "../../cache/cache.ts";
import { type Linker, TEMP_NAME } from "../../cache/link.ts";
import type { LinkType } from "../../cache/link_types.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { throwIfAborted } from "../../store/abort.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import type { WorkspaceGuard } from "../workspace/guard.ts";
import { lstatOrUndefined } from "../workspace/scan.ts";
import type { WorkspaceState } from "../workspace/state.ts";
import {
  buildFresh,
  discardQuietly,
  type FreshBuild,
  placeFresh,
  removeStaleBuilds,
} from "./fresh.ts";
import type { OutPlan } from "./plan.ts";

/** What {@link applyPlans} needs. */
export interface ApplyContext {
  readonly cache: LocalCache;
  readonly guard: WorkspaceGuard;
  readonly state: WorkspaceState;
  readonly linker: Linker;
  readonly jobs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/** What {@link applyPlans} did. */
export interface Applied {
  /** Files written, by the link type that made them. */
  readonly linked: Record<LinkType, number>;
  /** How many of them the helper thread of a fresh directory output made (see `buildFresh`). */
  helperFiles: number;
  /** Outputs built aside that turned out to miss an object: nothing of them was written. */
  readonly failed: Set<OutPlan>;
}

/**
 * Carries out the plans: outputs not yet in the workspace are built in a
 * temporary folder beside where they go (their manifests read and checked
 * on the way); then leftovers of an interrupted run and files an output no
 * longer has are removed, emptied folders pruned, and every new or changed
 * file is written from the cache, each built output renamed into place
 * once. Small files and links are made with synchronous calls (a few per
 * file, as `cp` does); big copies run `jobs` at a time. Other files go
 * through a temporary name and a rename. Failed outputs are removed when
 * that loses nothing, as DVC removes them.
 */
export async function applyPlans(plans: readonly OutPlan[], ctx: ApplyContext): Promise<Applied> {
  const applied: Applied = {
    linked: { reflink: 0, hardlink: 0, symlink: 0, copy: 0 },
    helperFiles: 0,
    failed: new Set(),
  };
  const active = plans.filter((p) => p.status !== "failed" && p.status !== "skipped");
  const total = active.reduce((n, p) => n + p.creates.length + (p.dir?.count ?? 0), 0);
  const progress = new Ticker(ctx, total);
  progress.report();
  const builds = new Map<OutPlan, FreshBuild>();
  try {
    // New directory outputs first, built aside: the build is what reads and
    // checks their manifests, so a bad one stops the checkout before
    // anything in the workspace changed. They are put in place below, in order.
    const fresh = active.filter((plan) => plan.dir?.fresh);
    // Leftovers of a killed run go before any build starts (never one of this run's).
    for (const plan of fresh) removeStaleBuilds(ctx.guard, plan.out.path);
    const byPath = new Map<string, OutPlan>();
    for (const plan of fresh) {
      // An output declared twice is built once, and fares as its first declaration.
      const first = byPath.get(plan.out.path);
      if (first !== undefined) {
        if (applied.failed.has(first)) applied.failed.add(plan);
        continue;
      }
      byPath.set(plan.out.path, plan);
      const build = await buildFresh(plan, plan.dir!, { ...ctx, applied, progress });
      if (build === "missing") applied.failed.add(plan);
      else builds.set(plan, build);
    }
    await removeTempsBesideFiles(plans, ctx);
    for (const plan of plans) {
      // An output built aside that turned out to miss an object: left as it was.
      if (plan.status === "skipped" || applied.failed.has(plan)) continue;
      for (const temp of plan.temps) await removeFile(ctx, temp);
      // (Never beside an output built above: its folder is one of those names.)
      if (plan.out.isDir && !byPath.has(plan.out.path)) {
        removeStaleBuilds(ctx.guard, plan.out.path);
      }
      if (plan.status === "failed") {
        if (plan.removable && plan.root !== "none") {
          await rm(ctx.guard.abs(plan.base), { recursive: true, force: true });
          ctx.state.forgetUnder(plan.base);
          ctx.guard.forget(plan.base);
        }
        continue;
      }
      for (const path of plan.deletes) await removeFile(ctx, path);
      for (const dir of plan.pruneDirs) {
        try {
          await rmdir(ctx.guard.abs(dir));
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== "ENOENT") {
            throw new DxpError(
              "CheckoutConflict",
              `Cannot remove the folder '${dir}' (${code}): something was added to it during the checkout; retry.`,
              ExitCode.failure,
              { cause: error },
            );
          }
        }
        ctx.guard.forget(dir);
      }
      if (plan.out.isDir && plan.base === plan.out.path && !plan.dir?.fresh) {
        await ctx.guard.ensureDir(plan.base);
      }
    }

    for (const plan of active) {
      if (applied.failed.has(plan)) continue;
      const scheme = plan.out.scheme;
      for (const file of plan.creates) {
        await writeOne(ctx, applied, file.path, file.oid, scheme, file.isexec, progress);
      }
      const dir = plan.dir;
      if (dir === undefined) continue;
      if (dir.fresh) {
        const build = builds.get(plan);
        // (None for a second declaration of an output: the first one's is placed.)
        if (build !== undefined) placeFresh(build, ctx.guard);
        builds.delete(plan);
        continue;
      }
      // Nothing to write (a no-op): the manifest is not read a second time.
      if (dir.count === 0) continue;
      const write = dir.write!;
      let written = 0;
      for (const batch of dir.manifest.batches()) {
        for (let k = 0; k < batch.md5.length; k++) {
          if (write[batch.start + k] !== 1) continue;
          const path = `${plan.out.path}/${batch.relpath[k]}`;
          await writeOne(ctx, applied, path, batch.md5[k]!, scheme, false, progress);
          written++;
        }
      }
      // Every file the plan found to write was written: never "M" over a file left as it was.
      if (written !== dir.count) {
        throw new DxpError(
          "CheckoutIncomplete",
          `Internal error: dxp wrote ${written} of the ${dir.count} files of '${plan.out.path}' it found to write (the others are as they were); please report this.`,
          ExitCode.failure,
        );
      }
    }
    await progress.drain();
  } finally {
    // Built but not put in place (something failed on the way): removed, last first.
    for (const build of [...builds.values()].reverse()) discardQuietly(build, ctx.guard);
  }
  return applied;
}

/** Counts written files, reports them now and then, and gives the event loop a turn. */
export class Ticker {
  done = 0;
  /** The folder of the last file written (already checked by the guard). */
  lastDir: string | undefined;
  #last = performance.now();
  #lastReport = 0;
  /** Big copies waiting for their turn, run `jobs` at a time. */
  readonly deferred: (() => Promise<void>)[] = [];

  constructor(private readonly ctx: ApplyContext, private total: number) {}

  /** `more` files than first counted (fewer when negative): a new output's manifest, once read. */
  expect(more: number): void {
    this.total += more;
  }

  report(): void {
    this.ctx.onProgress?.(this.done, this.total);
  }

  /**
   * One more file written. Every few ms it returns a promise to await: a
   * turn of the event loop (signals, progress); otherwise nothing, so the
   * common case costs no await.
   */
  tick(): Promise<void> | undefined {
    this.done++;
    return this.turn();
  }

  /** As {@link tick}, for files counted in {@link done} by the caller. */
  turn(): Promise<void> | undefined {
    const now = performance.now();
    if (now - this.#last < 10) return undefined;
    if (now - this.#lastReport > 100) {
      this.#lastReport = now;
      this.report();
    }
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#last = performance.now();
      throwIfAborted(this.ctx.signal);
    });
  }

  /** Runs the deferred big copies. */
  async drain(): Promise<void> {
    const work = this.deferred.splice(0);
    await forEachLimit(work, this.ctx.jobs, this.ctx.signal, (run) => run());
    this.report();
  }
}

/** Writes one workspace file over whatever is there (temp name + rename), and records its stamp. */
async function writeOne(
  ctx: ApplyContext,
  applied: Applied,
  path: string,
  oid: string,
  scheme: HashScheme,
  isexec: boolean,
  progress: Ticker,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "" : path.slice(0, slash);
  // Files come folder by folder: the guard is asked once per folder.
  if (dir !== progress.lastDir) {
    await ctx.guard.ensureDir(dir);
    progress.lastDir = dir;
  }
  const abs = ctx.guard.abs(path);
  const src = ctx.cache.objectPath(oid, scheme);
  const placed = ctx.linker.placeSync(src, abs, { oid, scheme, isexec, fresh: false });
  if (placed === "missing") throw vanished(path, oid);
  if (placed === "large") {
    progress.deferred.push(async () => {
      if (!(await ctx.cache.has(oid, scheme, ctx.signal))) throw vanished(path, oid);
      const type = await ctx.linker.place(src, abs, { isexec });
      applied.linked[type]++;
      const stats = lstatSync(abs, { throwIfNoEntry: false });
      if (stats !== undefined && type !== "symlink") {
        ctx.state.recordApprox(path, stats, oid, scheme);
      }
      await progress.tick();
    });
    return;
  }
  applied.linked[placed.type]++;
  if (placed.ino >= 0) ctx.state.recordApprox(path, placed, oid, scheme);
  const turn = progress.tick();
  if (turn !== undefined) await turn;
}

/** An object found in the cache while planning is gone now: someone else is changing it. */
export function vanished(path: string, oid: string): DxpError {
  return new DxpError(
    "CheckoutConflict",
    `The cache object '${oid}' for '${path}' disappeared during the checkout; retry.`,
    ExitCode.failure,
  );
}

async function removeFile(ctx: ApplyContext, path: string): Promise<void> {
  try {
    await unlink(ctx.guard.abs(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  ctx.state.forget(path);
}

/**
 * A file output is written through a temp file beside it, in its parent
 * folder, which no output's scan covers: a run killed before the rename left
 * `.<22>.tmp` there for good (an untracked file in `git status`). The folders
 * of the file outputs about to be written are cleared of such names, each
 * folder read once.
 */
async function removeTempsBesideFiles(plans: readonly OutPlan[], ctx: ApplyContext): Promise<void> {
  const folders = new Set<string>();
  for (const plan of plans) {
    if (plan.out.isDir || plan.creates.length === 0) continue;
    if (plan.status === "failed" || plan.status === "skipped") continue;
    const slash = plan.base.lastIndexOf("/");
    folders.add(slash < 0 ? "" : plan.base.slice(0, slash));
  }
  for (const folder of folders) {
    let names: string[];
    try {
      // Only a folder inside the workspace (ensureDir refuses a symlink leading out).
      if ((await lstatOrUndefined(ctx.guard.abs(folder))) === undefined) continue;
      await ctx.guard.ensureDir(folder);
      names = await readdir(ctx.guard.abs(folder));
    } catch {
      continue; // the write itself will report what is wrong with the folder
    }
    for (const name of names) {
      if (!TEMP_NAME.test(name)) continue;
      const path = folder === "" ? name : `${folder}/${name}`;
      if ((await lstatOrUndefined(ctx.guard.abs(path)))?.isFile()) await removeFile(ctx, path);
    }
  }
}
