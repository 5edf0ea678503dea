/**
 * Stores a received pack in a repository: verified and indexed in memory,
 * written to a quarantine folder, then moved into `objects/pack/` (pack
 * first, index last, so no reader ever sees an index without its pack).
 */
import { bytesToHex } from "../../util/bytes.ts";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { newDigest, randomHex } from "../../util/digest.ts";
import { join } from "node:path";
import { GitRemoteError } from "../../errors/mod.ts";
import { indexPack } from "./index_pack.ts";

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
  const trailer = bytesToHex(pack.subarray(pack.length - 20));
  if (newDigest("sha1").update(body).hex() !== trailer) {
    throw new GitRemoteError(
      "The pack from the Git remote is truncated or corrupt (checksum mismatch); nothing was stored.",
    );
  }
  return { objects: view.getUint32(8), checksum: trailer };
}

/**
 * Writes `pack` into `gitdir` with its `.idx` so every object in it is
 * readable. A truncated or corrupt pack, or one whose deltas need objects
 * outside it (a thin pack), is rejected and leaves nothing behind. With
 * `promisor` (a pack from a partial clone's promisor remote) a `.promisor`
 * file marks it as git does: objects it refers to may be missing here and
 * can be fetched from that remote.
 */
export async function storePack(
  gitdir: string,
  pack: Uint8Array,
  options: { promisor?: boolean } = {},
): Promise<{ objects: number }> {
  const { objects, checksum } = verifyPack(pack);
  if (objects === 0) return { objects: 0 };
  // Index first (in memory): a bad pack fails before anything touches the disk.
  const { idx } = indexPack(pack, objects);
  const quarantine = join(gitdir, "objects", `incoming-${randomHex(6)}`);
  await mkdir(quarantine, { recursive: true });
  try {
    await writeFile(join(quarantine, "tmp.pack"), pack, { mode: 0o444 });
    await writeFile(join(quarantine, "tmp.idx"), idx, { mode: 0o444 });
    const packDir = join(gitdir, "objects", "pack");
    await mkdir(packDir, { recursive: true });
    const base = join(packDir, `pack-${checksum}`);
    await rename(join(quarantine, "tmp.pack"), `${base}.pack`);
    if (options.promisor) await writeFile(`${base}.promisor`, "");
    await rename(join(quarantine, "tmp.idx"), `${base}.idx`);
    return { objects };
  } finally {
    await rm(quarantine, { recursive: true, force: true });
  }
}
