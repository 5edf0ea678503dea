import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ProjectTree, TreeEntry } from "./tree.ts";

/**
 * A {@link ProjectTree} over the work tree at `root` (the DVC root). Symlinks
 * are reported as such and never followed, so a walk stays inside `root`.
 */
export function workspaceTree(root: string): ProjectTree {
  const abs = (path: string) => (path === "" ? root : join(root, ...path.split("/")));
  return {
    async readFile(path) {
      try {
        const info = await lstat(abs(path));
        if (!info.isFile()) return undefined;
        return new Uint8Array(await readFile(abs(path)));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async listDir(path) {
      try {
        const dirents = await readdir(abs(path), { withFileTypes: true });
        const entries: TreeEntry[] = [];
        for (const d of dirents) {
          if (d.isDirectory()) entries.push({ name: d.name, type: "dir" });
          else if (d.isSymbolicLink()) entries.push({ name: d.name, type: "symlink" });
          else if (d.isFile()) entries.push({ name: d.name, type: "file" });
        }
        return entries;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
