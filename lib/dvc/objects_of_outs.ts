import { CorruptError } from "../errors/mod.ts";
import type { HashScheme } from "../util/object_hasher.ts";
import { type DirManifestEntry, dirOid, parseDirManifest } from "./dir_manifest.ts";
import { objectKey } from "../core/object_key.ts";
import type { DvcOut } from "./out.ts";

/** One object to transfer. */
export interface DvcObject {
  oid: string;
  scheme: HashScheme;
  /** Path relative to a cache or remote root (`files/md5/ab/…` or `ab/…`). */
  key: string;
  isDir: boolean;
  /** Bytes, when the stage file recorded it (single-file outputs only). */
  size?: number;
  /** The output's `remote:`; absent = whichever remote the caller uses. */
  remote?: string;
  /** `.dir` objects: their files (shared objects), or absent when the manifest was unreadable. */
  members?: DvcObject[];
}

/** Reads the bytes of a `.dir` object, or `undefined` when it is not available. */
export type ManifestReader = (oid: string, scheme: HashScheme) => Promise<Uint8Array | undefined>;

/** Which outputs take part (spec §3.3). */
export interface ObjectSelection {
  /** Skip `push: false` outputs (push; and pull, which here mirrors push). */
  push?: boolean;
  /** Parsed manifests by `<scheme>:<oid>`, shared between calls to avoid re-reading. */
  manifests?: Map<string, DirManifestEntry[]>;
}

/** Result of {@link objectsOfOuts}. */
export interface ObjectSet {
  /** Unique by (remote, scheme, oid): single files, `.dir` objects and their members. */
  objects: DvcObject[];
  /** `.dir` objects whose manifest the reader could not provide (members unknown). */
  missingManifests: DvcObject[];
}

/**
 * The full object set of `outs`: each cached file's oid, and for each
 * directory its `.dir` object plus every file listed in it. `cache: false`
 * outputs are never included. Manifests are checked against their oid and
 * their `relpath`s validated (CorruptError / UnsafePathError).
 *
 * @example
 * const set = await objectsOfOuts(outs, (oid, scheme) => cache.read(oid, scheme), { push: true });
 * const keys = set.objects.map((o) => o.key);
 */
export async function objectsOfOuts(
  outs: readonly DvcOut[],
  readManifest: ManifestReader,
  selection: ObjectSelection = {},
): Promise<ObjectSet> {
  const manifests = selection.manifests ?? new Map<string, DirManifestEntry[]>();
  const byId = new Map<string, DvcObject>();
  const result: ObjectSet = { objects: [], missingManifests: [] };

  const intern = (oid: string, scheme: HashScheme, remote: string | undefined, size?: number) => {
    const id = `${remote ?? ""}\0${scheme}\0${oid}`;
    let object = byId.get(id);
    if (object === undefined) {
      object = { oid, scheme, key: objectKey(oid, scheme), isDir: oid.endsWith(".dir") };
      if (remote !== undefined) object.remote = remote;
      if (size !== undefined) object.size = size;
      byId.set(id, object);
      result.objects.push(object);
      return { object, fresh: true };
    }
    return { object, fresh: false };
  };

  for (const out of outs) {
    if (!out.cache) continue;
    if (selection.push && !out.push) continue;
    const remote = out.remote;
    if (!out.isDir) {
      intern(out.hash, out.scheme, remote, out.size);
      continue;
    }
    const { object: dir, fresh } = intern(out.hash, out.scheme, remote);
    if (!fresh) continue;
    const entries = await loadManifest(out.hash, out.scheme, readManifest, manifests);
    if (entries === undefined) {
      result.missingManifests.push(dir);
      continue;
    }
    // Members share the directory's scheme (legacy dirs list legacy oids).
    dir.members = entries.map((e) => intern(e.md5, out.scheme, remote).object);
  }
  return result;
}

async function loadManifest(
  oid: string,
  scheme: HashScheme,
  readManifest: ManifestReader,
  manifests: Map<string, DirManifestEntry[]>,
): Promise<DirManifestEntry[] | undefined> {
  const id = `${scheme}:${oid}`;
  const known = manifests.get(id);
  if (known !== undefined) return known;
  const bytes = await readManifest(oid, scheme);
  if (bytes === undefined) return undefined;
  if (dirOid(bytes) !== oid) {
    throw new CorruptError(
      `The '.dir' object '${oid}' does not hash to its name; delete '${
        objectKey(oid, scheme)
      }' and fetch it again.`,
    );
  }
  const entries = parseDirManifest(bytes);
  manifests.set(id, entries);
  return entries;
}
