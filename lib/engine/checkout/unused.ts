import { lstatSync } from "node:fs";
import { lstat, rm } from "node:fs/promises";
import { UnsafePathError } from "../../errors/mod.ts";
import { assertWorkspacePath, type WorkspaceGuard } from "../workspace/guard.ts";
import { countTree, listTree } from "../workspace/scan.ts";
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
    if (!isIntact(guard, state, path, record.isDir)) continue;
    await rm(guard.abs(path), { recursive: true, force: true });
    state.forgetUnder(path);
    guard.forget(path);
    removed.push(path);
  }
  return removed;
}

/** Every file at `path` still has the stamp recorded when it was written (streamed, no list). */
function isIntact(
  guard: WorkspaceGuard,
  state: WorkspaceState,
  path: string,
  isDir: boolean,
): boolean {
  const top = lstatSync(guard.abs(path), { throwIfNoEntry: false });
  if (top === undefined || top.isDirectory() !== isDir) return false;
  if (isDir && countTree(guard, path).temps.length > 0) return false;
  for (const entry of listTree(guard, path)) {
    const { ino, mtimeMs, size } = entry.stats;
    if (entry.kind === "other" || !state.files.unchanged(entry.path, ino, mtimeMs, size)) {
      return false;
    }
  }
  return true;
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
