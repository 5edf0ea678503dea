import type { DirManifestFile } from "../../dvc/dir_manifest_file.ts";
import type { DvcOut } from "../../dvc/out.ts";
import { CorruptError } from "../../errors/mod.ts";
import { assertWorkspacePath } from "../workspace/guard.ts";

/*
 * What checkout adds to the manifest reader's checks before a manifest's
 * paths become workspace paths (the plan of an output in the workspace and
 * the build of a new one both apply them).
 */

/** A manifest that lists a path both as a file and as a folder cannot be checked out. */
export function assertNoConflict(manifest: DirManifestFile, out: DvcOut): void {
  if (manifest.conflict !== undefined) {
    throw new CorruptError(
      `The manifest of '${out.path}' (${out.hash}) lists a path both as a file and as a folder; delete the object and fetch it again.`,
    );
  }
}

/** A manifest path as a workspace path: the manifest checks are DVC's, this adds `.git`. */
export function assertMember(outPath: string, relpath: string): void {
  // Only paths mentioning `.git` need the full check (the manifest reader did the rest).
  if (relpath.length >= 4 && /\.git/i.test(relpath)) {
    assertWorkspacePath(`${outPath}/${relpath}`, `a file of output '${outPath}'`);
  }
}
