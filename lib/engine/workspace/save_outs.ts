import { stat } from "node:fs/promises";
import { addBytesToCache, addFileToCache } from "../../cache/add.ts";
import type { LocalCache } from "../../cache/cache.ts";
import { type DirManifestEntry, serializeDirManifest } from "../../dvc/dir_manifest.ts";
import type { DvcOut } from "../../dvc/out.ts";
import type { HashUpdate } from "../../dvc/record_hash.ts";
import { readChunks } from "../../store/local_stream.ts";
import { createObjectHasher, hashBytes, type HashScheme } from "../../util/object_hasher.ts";
import { forEachLimit } from "../../transfer/parallel.ts";
import type { WorkspaceGuard } from "./guard.ts";
import { identify, type IdentifyContext, scanOut, type WsEntry } from "./scan.ts";

/** Files looked at concurrently (stat + state lookup, or hashing). */
const PARALLEL = 16;

/** An output whose workspace content differs from its recorded hash, now saved in the cache. */
export interface SavedOut {
  readonly out: DvcOut;
  /** The new content's oid (`.dir` for a folder). */
  readonly update: HashUpdate;
}

/** What {@link saveModifiedOuts} needs. */
export interface SaveContext extends IdentifyContext {
  readonly cache: LocalCache;
  readonly guard: WorkspaceGuard;
}

/**
 * Before a forced checkout overwrites the workspace: every cached output
 * whose content differs from the hash its stage file records (a retrained
 * `model.bin`, a file edited or added in a directory output) is put into
 * the cache as `dvc commit` would — file objects, then the `.dir` manifest,
 * each verified, 0444, temp + rename — and returned with the hash to record
 * for it. Missing outputs and unchanged ones are left alone; special files
 * (sockets, FIFOs) cannot be saved and are not part of the saved content.
 * Nothing in the workspace is modified.
 */
export async function saveModifiedOuts(
  outs: readonly DvcOut[],
  ctx: SaveContext,
): Promise<SavedOut[]> {
  const saved: SavedOut[] = [];
  for (const out of outs) {
    if (!out.cache || out.entry === undefined) continue;
    const scan = await scanOut(ctx.guard, out.path);
    if (scan.root === "none" || scan.root === "other") continue;
    const scheme = out.scheme;
    if (scan.root !== "dir") {
      const entry = scan.entries[0]!;
      const content = await contentOf(entry, scheme, ctx);
      if (content === undefined || content.oid === out.hash) continue;
      await addFileToCache(ctx.cache, ctx.guard.abs(entry.path), content.oid, scheme, ctx.signal);
      saved.push({
        out,
        update: { keyPath: out.entry.keyPath, md5: content.oid, size: content.size },
      });
      continue;
    }
    const found: ({ entry: WsEntry; oid: string; size: number } | undefined)[] = [];
    await forEachLimit(
      scan.entries.map((entry, i) => ({ entry, i })),
      PARALLEL,
      ctx.signal,
      async ({ entry, i }) => {
        const content = await contentOf(entry, scheme, ctx);
        found[i] = content === undefined ? undefined : { entry, ...content };
      },
    );
    const members = found.filter((m) => m !== undefined);
    const manifest: DirManifestEntry[] = members.map((m) => ({
      md5: m.oid,
      relpath: m.entry.path.slice(out.path.length + 1),
    }));
    const bytes = serializeDirManifest(manifest);
    const oid = `${hashBytes(bytes, scheme)}.dir`;
    if (oid === out.hash) continue;
    for (const member of members) {
      const abs = ctx.guard.abs(member.entry.path);
      await addFileToCache(ctx.cache, abs, member.oid, scheme, ctx.signal);
    }
    // The manifest last, as DVC: a `.dir` in the cache promises its files are there.
    await addBytesToCache(ctx.cache, bytes, oid, scheme, ctx.signal);
    saved.push({
      out,
      update: {
        keyPath: out.entry.keyPath,
        md5: oid,
        size: members.reduce((sum, m) => sum + m.size, 0),
        nfiles: members.length,
      },
    });
  }
  return saved;
}

/**
 * The oid and size of what a workspace entry holds: a file (hashed, or
 * known from the state), a link into the cache, or — for another symlink —
 * the regular file it points at. `undefined` for anything else.
 */
async function contentOf(
  entry: WsEntry,
  scheme: HashScheme,
  ctx: SaveContext,
): Promise<{ oid: string; size: number } | undefined> {
  const abs = ctx.guard.abs(entry.path);
  if (entry.kind === "other") return undefined;
  const known = await identify(entry, scheme, ctx);
  let size = Number(entry.stats.size);
  if (entry.kind === "symlink") {
    const info = await stat(abs).catch(() => undefined);
    if (info === undefined || !info.isFile()) return undefined;
    size = info.size;
  }
  if (known !== undefined) return { oid: known, size };
  const hasher = createObjectHasher(scheme);
  for await (
    const chunk of readChunks(abs, { action: `read '${entry.path}'`, where: abs }, ctx.signal)
  ) {
    hasher.update(chunk);
  }
  return { oid: hasher.digest(), size };
}
