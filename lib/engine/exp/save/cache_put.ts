import { constants } from "node:fs";
import { chmod, copyFile, link, mkdir, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { addBytesToCache, addFileToCache } from "../../../cache/add.ts";
import type { LocalCache } from "../../../cache/cache.ts";
import type { LinkType } from "../../../cache/link_types.ts";
import { tempNameFor } from "../../../store/local_write.ts";
import type { HashScheme } from "../../../util/object_hasher.ts";
import type { Stamp } from "../../workspace/state.ts";
import { FileChangedError, type ItemDigest } from "./hash_items.ts";
import { absPath } from "./targets.ts";

/** What putting outputs into the cache needs. */
export interface CachePutContext {
  readonly cache: LocalCache;
  readonly root: string;
  /** `cache.type` in order; reflink and hardlink avoid a second copy of big files. */
  readonly linkTypes: readonly LinkType[];
  readonly signal?: AbortSignal | undefined;
  readonly show: (path: string) => string;
}

// The file system cannot make this kind of link: try the next type (DVC drops it too).
const UNSUPPORTED = new Set([
  "ENOTSUP",
  "EOPNOTSUPP",
  "EXDEV",
  "EINVAL",
  "ENOSYS",
  "ENOTTY",
  "EPERM",
  "EACCES",
  "EMLINK",
]);

/**
 * Puts an output that was hashed into `digest` into the cache in `scheme`:
 * each file object (a reflink or hard link when `cache.type` allows and
 * the file system can, else a copy verified against its md5 as it
 * streams), made read-only (0444) and renamed into place; a directory's
 * `.dir` manifest last. Objects already in the cache are left alone.
 * `copyOnly` forces copies (DVC copies `cache: false` outputs).
 */
export async function putOutput(
  ctx: CachePutContext,
  path: string,
  digest: ItemDigest,
  scheme: HashScheme,
  copyOnly = false,
): Promise<void> {
  const types = copyOnly ? [] : ctx.linkTypes;
  if (digest.kind === "file") {
    await putFile(ctx, path, digest.oids[scheme]!, scheme, digest.stamp!, types);
    return;
  }
  for (const member of digest.members ?? []) {
    await putFile(
      ctx,
      `${path}/${member.relpath}`,
      member.oids[scheme]!,
      scheme,
      member.stamp,
      types,
    );
  }
  // The manifest last: a `.dir` in the cache promises that its files are there.
  await addBytesToCache(
    ctx.cache,
    digest.manifests![scheme]!,
    digest.oids[scheme]!,
    scheme,
    ctx.signal,
  );
}

async function putFile(
  ctx: CachePutContext,
  path: string,
  oid: string,
  scheme: HashScheme,
  stamp: Stamp,
  types: readonly LinkType[],
): Promise<void> {
  if (await ctx.cache.has(oid, scheme, ctx.signal)) return;
  const src = absPath(ctx.root, path);
  const target = ctx.cache.objectPath(oid, scheme);
  for (const type of types) {
    if (type === "copy") break;
    if (type === "symlink" || (type === "hardlink" && stamp.size === 0n)) continue;
    const made = await linkInto(ctx, src, target, type, stamp, path);
    if (made) return;
  }
  try {
    await addFileToCache(ctx.cache, src, oid, scheme, ctx.signal);
  } catch (error) {
    // The copy is verified against the hash: a mismatch means the file changed since.
    if ((error as { code?: string }).code === "Corrupt") throw new FileChangedError(ctx.show(path));
    throw error;
  }
}

/**
 * Makes the object a reflink (copy-on-write clone) or hard link of the
 * workspace file, through a temporary name; true when done, false when
 * the file system cannot. The file's stamp is checked before and after, so
 * the object holds exactly the bytes that were hashed.
 */
async function linkInto(
  ctx: CachePutContext,
  src: string,
  target: string,
  type: "reflink" | "hardlink",
  stamp: Stamp,
  path: string,
): Promise<boolean> {
  await assertStamp(src, stamp, ctx, path);
  await ctx.cache.beforeDownload({ key: "", localPath: target });
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempNameFor(target);
  try {
    if (type === "reflink") {
      await copyFile(src, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    } else {
      await link(src, tmp);
    }
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    if (UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? "")) return false;
    throw error;
  }
  try {
    await chmod(tmp, 0o444);
    await assertStamp(src, stamp, ctx, path);
    await rename(tmp, target);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  return true;
}

async function assertStamp(src: string, stamp: Stamp, ctx: CachePutContext, path: string) {
  const now = await stat(src, { bigint: true }).catch(() => undefined);
  if (
    now === undefined || now.ino !== stamp.ino || now.mtimeNs !== stamp.mtimeNs ||
    now.size !== stamp.size
  ) {
    throw new FileChangedError(ctx.show(path));
  }
}
