/**
 * The `fs` to give isomorphic-git when it writes objects (commits, trees,
 * blobs for `exp save` and `exp apply`'s stash). isomorphic-git writes a loose
 * object straight to its final path and never rewrites one that exists: a
 * write cut short (a full disk, a kill) would leave an empty or partial
 * object that every later git command reports as corrupt. Here a loose
 * object is written to a temp file beside it and renamed into place, as git
 * itself does, so its final path only ever holds a whole object.
 */
import { randomHex } from "../util/digest.ts";
import { promises as fsp } from "node:fs";
import { dirname, join } from "node:path";

const LOOSE_OBJECT = /[\\/]objects[\\/][0-9a-f]{2}[\\/][0-9a-f]{38}$/;

async function writeFile(
  path: string,
  data: Uint8Array | string,
  options?: Parameters<typeof fsp.writeFile>[2],
): Promise<void> {
  if (typeof path !== "string" || !LOOSE_OBJECT.test(path)) {
    return await fsp.writeFile(path, data, options);
  }
  const temp = join(dirname(path), `tmp_obj_${randomHex(6)}`);
  try {
    await fsp.writeFile(temp, data, { mode: 0o444, flag: "wx" });
    await fsp.rename(temp, path);
  } catch (error) {
    await fsp.unlink(temp).catch(() => {});
    throw error;
  }
}

/** node:fs for isomorphic-git, with loose objects written atomically. */
export const gitObjectsFs = {
  promises: {
    readFile: fsp.readFile,
    writeFile,
    mkdir: fsp.mkdir,
    rmdir: fsp.rmdir,
    rm: fsp.rm,
    unlink: fsp.unlink,
    stat: fsp.stat,
    lstat: fsp.lstat,
    readdir: fsp.readdir,
    readlink: fsp.readlink,
    symlink: fsp.symlink,
    chmod: fsp.chmod,
  },
};
