import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { openCache } from "../../cache/cache.ts";
import { collectOuts } from "../../dvc/collect_outs.ts";
import { compareCodePoints } from "../../dvc/dir_manifest.ts";
import { type HashUpdate, recordHashes } from "../../dvc/record_hash.ts";
import { workspaceTree } from "../../dvc/workspace_tree.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { WorkspaceGuard } from "./guard.ts";
import { saveModifiedOuts } from "./save_outs.ts";
import { WorkspaceState } from "./state.ts";

/** What {@link saveWorkspaceOutputs} did. */
export interface SavedWorkspace {
  /**
   * Stage files (Git work-tree paths) with the hashes of the saved outputs
   * written in: what a stash must record instead of the work-tree files.
   */
  readonly stageFiles: Map<string, Uint8Array>;
  /** Project paths of the outputs whose changed content is now in the cache. */
  readonly outputs: string[];
}

/**
 * Makes the workspace's DVC-tracked outputs safe to overwrite: reads the
 * workspace's stage files (strictly: a file that cannot be read throws
 * StageFileError, since the outputs it hides could not be saved), puts
 * every output whose content differs from its recorded hash into the cache,
 * and returns the stage files rewritten to record those hashes. Restoring
 * those stage files and running `dvc checkout` brings the outputs back.
 * Nothing in the workspace is changed.
 */
export async function saveWorkspaceOutputs(
  project: Project,
  signal?: AbortSignal,
): Promise<SavedWorkspace> {
  const { outs } = await collectOuts(workspaceTree(project.root), { strict: true });
  const config = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: config.cacheDir ?? join(project.dvcDir, "cache"),
    shared: config.cacheShared,
  });
  const state = await WorkspaceState.load(project.dvcDir);
  const saved = await saveModifiedOuts(outs, {
    cache,
    guard: new WorkspaceGuard(project.root),
    state,
    cacheRoot: cache.paths.root,
    signal,
  });
  // Hashes learnt on the way spare the checkout that follows a second read.
  await state.save();

  const byFile = new Map<string, HashUpdate[]>();
  for (const { out, update } of saved) {
    const file = out.entry!.file;
    byFile.set(file, [...(byFile.get(file) ?? []), update]);
  }
  const prefix = relative(project.gitWorkTree, project.root).split(sep).filter((s) => s !== "");
  const stageFiles = new Map<string, Uint8Array>();
  for (const [file, updates] of byFile) {
    const text = await readFile(join(project.root, ...file.split("/")), "utf8");
    stageFiles.set(
      [...prefix, file].join("/"),
      new TextEncoder().encode(recordHashes(text, file, updates)),
    );
  }
  return { stageFiles, outputs: saved.map((s) => s.out.path).sort(compareCodePoints) };
}
