import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * Every entry under `dir` (`.git/` and `.dvc/tmp/` left out: locks and
 * state files are not the user's data) as `path → kind, mode, size, inode,
 * mtime (ns), md5 or link target`. Two equal snapshots mean nothing was
 * created, removed, rewritten or even touched.
 */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      const rel = relative(dir, path);
      if (rel === ".git" || rel === join(".dvc", "tmp")) continue;
      const info = lstatSync(path, { bigint: true });
      const common = `${(info.mode & 0o7777n).toString(8)} ino=${info.ino} mtime=${info.mtimeNs}`;
      if (info.isDirectory()) {
        out.set(rel, `dir ${common}`);
        walk(path);
      } else if (info.isSymbolicLink()) {
        out.set(rel, `link ${common} -> ${readlinkSync(path)}`);
      } else {
        const md5 = createHash("md5").update(readFileSync(path)).digest("hex");
        out.set(rel, `file ${common} size=${info.size} md5=${md5}`);
      }
    }
  };
  walk(dir);
  return out;
}
