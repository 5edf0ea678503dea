import { readdir, rm, rmdir, unlink } from "node:fs/promises";
import type { LocalCache } from "../../cache/cache.ts";
import { type Linker, TEMP_NAME } from "../../cache/link.ts";
import type { LinkType } from "../../cache/link_types.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import type { NewFile, OutPlan } from "./plan.ts";
import type { WorkspaceGuard } from "../workspace/guard.ts";
import { lstatOrUndefined } from "../workspace/scan.ts";
import type { WorkspaceState } from "../workspace/state.ts";

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

/**
 * Carries out the plans: leftovers of an interrupted run and files an
 * output no longer has are removed, emptied folders pruned, then every new
 * or changed file is written from the cache (temp name + rename, bounded
 * concurrency). Failed outputs are removed when that loses nothing, as DVC
 * removes them. Returns how many files each link type made.
 */
export async function applyPlans(
  plans: readonly OutPlan[],
  ctx: ApplyContext,
): Promise<Record<LinkType, number>> {
  const linked: Record<LinkType, number> = { reflink: 0, hardlink: 0, symlink: 0, copy: 0 };
  await removeTempsBesideFiles(plans, ctx);
  for (const plan of plans) {
    if (plan.status === "skipped") continue;
    for (const temp of plan.scan.temps) await removeFile(ctx, temp);
    if (plan.status === "failed") {
      if (plan.removable && plan.scan.root !== "none") {
        await rm(ctx.guard.abs(plan.base), { recursive: true, force: true });
        ctx.state.forgetUnder(plan.base);
        ctx.guard.forget(plan.base);
      }
      continue;
    }
    for (const entry of plan.deletes) await removeFile(ctx, entry.path);
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
    if (plan.out.isDir && plan.base === plan.out.path) await ctx.guard.ensureDir(plan.base);
  }

  const work: { plan: OutPlan; file: NewFile }[] = [];
  for (const plan of plans) {
    if (plan.status === "failed" || plan.status === "skipped") continue;
    for (const file of plan.creates) work.push({ plan, file });
  }
  let done = 0;
  ctx.onProgress?.(0, work.length);
  await forEachLimit(work, ctx.jobs, ctx.signal, async ({ plan, file }) => {
    const slash = file.path.lastIndexOf("/");
    await ctx.guard.ensureDir(slash < 0 ? "" : file.path.slice(0, slash));
    const scheme = plan.out.scheme;
    const abs = ctx.guard.abs(file.path);
    const options = file.size === undefined
      ? { isexec: file.isexec }
      : { isexec: file.isexec, size: file.size };
    const type = await ctx.linker.place(ctx.cache.objectPath(file.oid, scheme), abs, options);
    linked[type]++;
    const stats = await lstatOrUndefined(abs);
    if (stats !== undefined) ctx.state.record(file.path, stats, file.oid, scheme);
    ctx.onProgress?.(++done, work.length);
  });
  return linked;
}

async function removeFile(ctx: ApplyContext, path: string): Promise<void> {
  try {
    await unlink(ctx.guard.abs(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  ctx.state.files.delete(path);
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
