/** One entry of a directory listing in a {@link ProjectTree}. */
export interface TreeEntry {
  name: string;
  type: "file" | "dir" | "symlink";
}

/**
 * Read-only view of a DVC project's files: a Git commit's tree or the work
 * tree. Paths are relative to the DVC root, `/`-separated, `""` is the root.
 */
export interface ProjectTree {
  /** File bytes, or `undefined` when `path` is missing or not a regular file. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Directory entries, or `undefined` when `path` is missing or not a directory. */
  listDir(path: string): Promise<TreeEntry[] | undefined>;
}

/** Joins tree paths (`""` is the root). */
export function joinTreePath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** Parent folder of a tree path (`""` for a top-level name). */
export function treeDirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}
