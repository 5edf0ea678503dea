import { objectKey } from "../../core/object_key.ts";
import { type DirManifestEntry, dirOid, parseDirManifest } from "../../dvc/dir_manifest.ts";
import type { DvcObject, DvcOut } from "../../dvc/mod.ts";
import { CorruptError } from "../../errors/mod.ts";
import type { HashScheme } from "../../util/object_hasher.ts";

/**
 * The objects of the part of a directory output a target names (a file or
 * a folder inside it): only the files under those paths, as DVC moves for
 * `dvc push data/nested`; never the `.dir` object itself, whose presence
 * on a remote promises every member. `dir` is that `.dir` object;
 * `unreadable` is it too when its manifest could not be read (members unknown);
 * `matched` the paths of `within` that name at least one file.
 */
export async function partialDirObjects(
  out: DvcOut,
  within: readonly string[],
  readManifest: (oid: string, scheme: HashScheme) => Promise<Uint8Array | undefined>,
  manifests: Map<string, DirManifestEntry[]>,
): Promise<{ objects: DvcObject[]; matched: Set<string>; dir: DvcObject; unreadable?: DvcObject }> {
  const id = `${out.scheme}:${out.hash}`;
  const dir = {
    oid: out.hash,
    scheme: out.scheme,
    key: objectKey(out.hash, out.scheme),
    isDir: true,
  };
  let entries = manifests.get(id);
  if (entries === undefined) {
    const bytes = await readManifest(out.hash, out.scheme);
    if (bytes === undefined) return { objects: [], matched: new Set(within), dir, unreadable: dir };
    if (dirOid(bytes) !== out.hash) {
      throw new CorruptError(
        `The '.dir' object '${out.hash}' does not hash to its name; delete '${
          objectKey(out.hash, out.scheme)
        }' and fetch it again.`,
      );
    }
    entries = parseDirManifest(bytes);
    manifests.set(id, entries);
  }
  const objects = new Map<string, DvcObject>();
  const matched = new Set<string>();
  for (const entry of entries) {
    const path = `${out.path}/${entry.relpath}`;
    const hits = within.filter((w) => path === w || path.startsWith(`${w}/`));
    if (hits.length === 0) continue;
    for (const hit of hits) matched.add(hit);
    // Members share the directory's scheme (legacy dirs list legacy oids).
    const key = objectKey(entry.md5, out.scheme);
    objects.set(key, { oid: entry.md5, scheme: out.scheme, key, isDir: false });
  }
  return { objects: [...objects.values()], matched, dir };
}
