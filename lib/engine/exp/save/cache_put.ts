import { constants, lstatSync } from "node:fs";
import { chmod, copyFile, link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { addBytesToCache } from "../../../cache/add.ts";
import type { LocalCache } from "../../../cache/cache.ts";
import { LINK_UNSUPPORTED, type LinkType } from "../../../cache/link_types.ts";
import { objectKey } from "../../../core/object_key.ts";
import { storeErrorFromErrno } from "../../../store/errors.ts";
import { readChunks } from "../../../store/local_stream.ts";
import { tempNameFor, writeAtomic } from "../../../store/local_write.ts";
import { forEachLimit } from "../../../transfer/parallel.ts";
import type { HashScheme } from "../../../util/object_hasher.ts";
import type { Stamp } from "../../workspace/state.ts";
import { FileChangedError, type ItemDigest, memberStamp, sameStamp } from "./hash_items.ts";
import { absPath } from "./targets.ts";

/** Files of a directory put into the cache at once. */
const PARALLEL = 16;
/** Files up to this size are copied through one pooled buffer. */
const SMALL_FILE = 256 * 1024;

/** What putting outputs into the cache needs (one per save: it learns what the disk cannot do). */
export interface CachePutContext {
  readonly cache: LocalCache;
  readonly root: string;
  /** `cache.type` in order; reflink and hardlink avoid a second copy of big files. */
  readonly linkTypes: readonly LinkType[];
  readonly signal?: AbortSignal | undefined;
  readonly show: (path: string) => string;
  /** Link types the file system refused once: not tried again (DVC drops them too). */
  readonly refused: Set<LinkType>;
  /** Reused read buffers for small files. */
  readonly buffers: Uint8Array[];
}

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
  previous?: { readonly oid: string; readonly scheme: HashScheme },
): Promise<void> {
  const types = copyOnly ? [] : ctx.linkTypes;
  if (digest.kind === "file") {
    await putFile(ctx, path, digest.oid, scheme, digest.stamp!, types);
    return;
  }
  // A protected `.dir` in the cache was written after all its files (always,
  // by DVC and dxp): its files are not checked one by one again, as DVC
  // trusts a remote's `.dir`. Otherwise the objects already there are
  // sorted out synchronously; only the others cost an async call each.
  if (protectedObject(ctx, digest.oid, scheme)) return;
  // The files of the `.dir` recorded before are in the cache too: only new
  // ones are looked at (a changed file in a 100,000-file output is one stat).
  const before = previous === undefined ? new Set<string>() : await manifestOids(ctx, previous);
  const missing = (digest.members ?? []).filter((m) =>
    !before.has(m.oid) && !protectedObject(ctx, m.oid, scheme)
  );
  await forEachLimit(
    missing,
    PARALLEL,
    ctx.signal,
    (member) => putFile(ctx, member.path, member.oid, scheme, memberStamp(member), types),
  );
  // The manifest last: a `.dir` in the cache promises that its files are there.
  await addBytesToCache(
    ctx.cache,
    digest.manifest!,
    digest.oid,
    scheme,
    ctx.signal,
  );
}

/**
 * The file oids of a protected `.dir` object in the cache (same scheme as
 * the new one), read straight from its bytes; empty when it is not there.
 */
async function manifestOids(
  ctx: CachePutContext,
  previous: { readonly oid: string; readonly scheme: HashScheme },
): Promise<Set<string>> {
  const oids = new Set<string>();
  if (!previous.oid.endsWith(".dir") || !protectedObject(ctx, previous.oid, previous.scheme)) {
    return oids;
  }
  const bytes = await readFile(ctx.cache.objectPath(previous.oid, previous.scheme)).catch(() =>
    undefined
  );
  if (bytes === undefined) return oids;
  const text = new TextDecoder().decode(bytes);
  const key = '{"md5": "';
  for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
    const oid = text.slice(at + key.length, at + key.length + 32);
    if (/^[0-9a-f]{32}$/.test(oid)) oids.add(oid);
  }
  return oids;
}

/** True when the object is in the cache with mode 0444 (trusted, as DVC does). */
function protectedObject(ctx: CachePutContext, oid: string, scheme: HashScheme): boolean {
  const seen = lstatSync(ctx.cache.objectPath(oid, scheme), { throwIfNoEntry: false });
  return seen !== undefined && seen.isFile() && (seen.mode & 0o7777) === 0o444;
}

async function putFile(
  ctx: CachePutContext,
  path: string,
  oid: string,
  scheme: HashScheme,
  stamp: Stamp,
  types: readonly LinkType[],
): Promise<void> {
  const target = ctx.cache.objectPath(oid, scheme);
  // A quick look first: most objects are either absent or protected (0444),
  // and a failed async lstat costs an Error per file over 100,000 files.
  const seen = lstatSync(target, { throwIfNoEntry: false });
  if (seen !== undefined && (!seen.isFile() || (seen.mode & 0o7777) !== 0o444)) {
    if (await ctx.cache.has(oid, scheme, ctx.signal)) return;
  } else if (seen !== undefined) {
    return;
  }
  const src = absPath(ctx.root, path);
  for (const type of types) {
    if (type === "copy") break;
    if (type === "symlink" || ctx.refused.has(type)) continue;
    if (type === "hardlink" && stamp.size === 0n) continue;
    if (await linkInto(ctx, src, target, type, stamp, path)) return;
  }
  const key = objectKey(oid, scheme);
  await ctx.cache.beforeDownload({ key, localPath: target });
  const small = stamp.size <= BigInt(SMALL_FILE);
  // Small files go through one pooled buffer: two fresh read buffers per file
  // would be most of the memory churn of a 100,000-file output.
  const buffer = small ? ctx.buffers.pop() ?? new Uint8Array(SMALL_FILE + 1) : undefined;
  try {
    const source = buffer === undefined
      ? readChunks(src, { action: `read '${path}'`, where: src }, ctx.signal)
      : once(await readWhole(src, buffer));
    await writeAtomic(target, source, {
      expect: { hash: oid, scheme },
      signal: ctx.signal,
      fileMode: 0o444,
      context: { action: `add '${key}' to the cache`, where: target },
      sourceLabel: `'${path}'`,
    });
  } catch (error) {
    // The copy is verified against the hash: a mismatch means the file changed since.
    if ((error as { code?: string }).code === "Corrupt") throw new FileChangedError(ctx.show(path));
    throw storeErrorFromErrno(error, { action: `read '${path}'`, where: src });
  } finally {
    if (buffer !== undefined) ctx.buffers.push(buffer);
  }
}

/** The whole file in `buffer` (a file that grew past it is read only in part: the hash check refuses it). */
async function readWhole(path: string, buffer: Uint8Array): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
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
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (LINK_UNSUPPORTED.has(code)) {
      ctx.refused.add(type);
      return false;
    }
    if (code === "EMLINK") return false;
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
  if (!(await sameStamp(src, stamp))) throw new FileChangedError(ctx.show(path));
}
