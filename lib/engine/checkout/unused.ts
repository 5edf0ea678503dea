import { lstat, rm } from "node:fs/promises";
import { UnsafePathError } from "../../errors/mod.ts";
import { assertWorkspacePath, type WorkspaceGuard } from "../workspace/guard.ts";
import { scanOut } from "../workspace/scan.ts";
import type { WorkspaceState } from "../workspace/state.ts";

/**
 * DVC's "unused links": outputs a previous checkout wrote that no stage of
 * the current revision declares are removed — only when every file is
 * still exactly as written (same inode, mtime and size), so nothing the
 * user changed or made is lost. Returns the removed project paths; every
 * stale record is forgotten.
 */
export async function removeUnusedOuts(
  current: ReadonlySet<string>,
  guard: WorkspaceGuard,
  state: WorkspaceState,
): Promise<string[]> {
  const removed: string[] = [];
  const paths = [...current];
  for (const [path, record] of [...state.outs]) {
    if (current.has(path)) continue;
    state.outs.delete(path);
    const overlaps = paths.some((p) => p.startsWith(`${path}/`) || path.startsWith(`${p}/`));
    if (overlaps || !(await safeToTouch(guard, path))) continue;
    const scan = await scanOut(guard, path);
    const intact = record.isDir
      ? scan.root === "dir" && scan.temps.length === 0 &&
        scan.entries.every((e) => e.kind !== "other" && state.unchanged(e.path, e.stats))
      : scan.entries.length === 1 && scan.entries[0]!.kind !== "other" &&
        state.unchanged(path, scan.entries[0]!.stats);
    if (!intact) continue;
    await rm(guard.abs(path), { recursive: true, force: true });
    state.forgetUnder(path);
    guard.forget(path);
    removed.push(path);
  }
  return removed;
}

/** A path from our own state file is still checked: plain, and below real folders only. */
async function safeToTouch(guard: WorkspaceGuard, path: string): Promise<boolean> {
  try {
    assertWorkspacePath(path, "a recorded output");
  } catch (error) {
    if (error instanceof UnsafePathError) return false;
    throw error;
  }
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const info = await lstat(guard.abs(parts.slice(0, i).join("/"))).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) return false;
  }
  return true;
}
