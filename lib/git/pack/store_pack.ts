/**
 * Stores a received pack in a repository: verified, indexed in a quarantine
 * folder, then moved into `objects/pack/` (pack first, index last, so no
 * reader ever sees an index without its pack).
 */
import fs from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import git from "isomorphic-git";
import { GitRemoteError } from "../../errors/mod.ts";

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Checks the pack header and trailer; returns its object count and checksum. */
export function verifyPack(pack: Uint8Array): { objects: number; checksum: string } {
  const magic = pack.length >= 32 && pack[0] === 0x50 && pack[1] === 0x41 && pack[2] === 0x43 &&
    pack[3] === 0x4b;
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  if (!magic || ![2, 3].includes(view.getUint32(4))) {
    throw new GitRemoteError(
      "The Git remote sent data that is not a valid pack; nothing was stored.",
    );
  }
  const body = pack.subarray(0, pack.length - 20);
  const trailer = toHex(pack.subarray(pack.length - 20));
  if (toHex(new Uint8Array(createHash("sha1").update(body).digest())) !== trailer) {
    throw new GitRemoteError(
      "The pack from the Git remote is truncated or corrupt (checksum mismatch); nothing was stored.",
    );
  }
  return { objects: view.getUint32(8), checksum: trailer };
}

/**
 * Writes `pack` into `gitdir` with its `.idx` so every object in it is
 * readable. A truncated or corrupt pack, or one whose deltas need objects
 * outside it (a thin pack), is rejected and leaves nothing behind.
 */
export async function storePack(gitdir: string, pack: Uint8Array): Promise<{ objects: number }> {
  const { objects, checksum } = verifyPack(pack);
  if (objects === 0) return { objects: 0 };
  const quarantine = join(gitdir, "objects", `incoming-${randomBytes(6).toString("hex")}`);
  await mkdir(quarantine, { recursive: true });
  try {
    await writeFile(join(quarantine, "tmp.pack"), pack);
    // gitdir = the quarantine folder: a delta whose base is outside the pack
    // cannot be resolved from our objects, so a thin pack shows up as missing objects.
    let indexed: number;
    try {
      const result = await git.indexPack({
        fs,
        dir: quarantine,
        gitdir: quarantine,
        filepath: "tmp.pack",
      });
      indexed = result.oids.length;
    } catch (e) {
      throw new GitRemoteError(
        "The pack from the Git remote could not be indexed; nothing was stored.",
        {
          cause: e,
        },
      );
    }
    if (indexed !== objects) {
      throw new GitRemoteError(
        `The pack from the Git remote has ${
          objects - indexed
        } of ${objects} objects that cannot be ` +
          "resolved (corrupt data or deltas against objects outside the pack); nothing was stored.",
      );
    }
    const packDir = join(gitdir, "objects", "pack");
    await mkdir(packDir, { recursive: true });
    const base = join(packDir, `pack-${checksum}`);
    await chmod(join(quarantine, "tmp.pack"), 0o444);
    await chmod(join(quarantine, "tmp.idx"), 0o444);
    await rename(join(quarantine, "tmp.pack"), `${base}.pack`);
    await rename(join(quarantine, "tmp.idx"), `${base}.idx`);
    return { objects };
  } finally {
    await rm(quarantine, { recursive: true, force: true });
  }
}
