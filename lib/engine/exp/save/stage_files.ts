import { chmod, lstat, rename, unlink, writeFile } from "node:fs/promises";
import process from "node:process";
import { parseDocument } from "yaml";
import { type DvcOutUpdate, updateDvcFileText, updateLockText } from "../../../dvc/lock_edit.ts";
import { type PyDict, pyEquals, toPyValue } from "../../../dvc/py_value.ts";
import { tempNameFor } from "../../../store/local_write.ts";
import { hashedItem, type StagePlan } from "./plan.ts";
import type { WorkspaceStages } from "./stages.ts";
import { absPath } from "./targets.ts";

/** The stage files a save writes. */
export interface StageFiles {
  /** Project path → new bytes; `isLock` for `dvc.lock` files (committed even when untracked). */
  readonly files: Map<string, { bytes: Uint8Array; isLock: boolean }>;
  /** DVC's lines: `Generating lock file '…'`, `Updating lock file '…'`. */
  readonly info: string[];
  /**
   * Writes the files that changed into the work tree (temporary file +
   * rename each); returns a function putting the old contents back.
   */
  write(root: string): Promise<() => Promise<void>>;
}

/**
 * The new `dvc.lock` and `.dvc` texts for the planned stages: each lock
 * file gets its stages' entries (DVC's `dump_stages`), each `.dvc` file's
 * changed outputs get their new hash fields in place (DVC's `apply_diff`).
 */
export function writeStageFiles(
  plans: readonly StagePlan[],
  workspace: WorkspaceStages,
  show: (path: string) => string,
): StageFiles {
  const encoder = new TextEncoder();
  const files = new Map<string, { bytes: Uint8Array; isLock: boolean }>();
  const old = new Map<string, string | undefined>();
  const info: string[] = [];
  const byLock = new Map<string, Map<string, PyDict>>();
  const byDvcFile = new Map<string, DvcOutUpdate[]>();
  for (const plan of plans) {
    const { stage } = plan;
    if (plan.lockEntry !== undefined && stage.lockFile !== undefined) {
      const entries = byLock.get(stage.lockFile) ?? new Map<string, PyDict>();
      entries.set(stage.name, plan.lockEntry);
      byLock.set(stage.lockFile, entries);
      continue;
    }
    if (stage.kind !== "dvcfile") continue;
    const text = workspace.dvcTexts.get(stage.file)!;
    const outs = toPyValue(parseDocument(text, { intAsBigInt: true }).toJS({ mapAsMap: true }));
    const items = outs instanceof Map ? outs.get("outs") : undefined;
    for (const planned of plan.outs) {
      const index = planned.out.index!;
      const before = Array.isArray(items) ? items[index] : undefined;
      if (!(before instanceof Map)) continue;
      const item = hashedItem(planned);
      const after: PyDict = new Map(before);
      after.set("md5", item.md5);
      after.set("size", BigInt(item.size));
      if (item.nfiles !== undefined) after.set("nfiles", BigInt(item.nfiles));
      else after.delete("nfiles");
      if (item.isexec) after.set("isexec", true);
      else after.delete("isexec");
      if (item.scheme === "md5") after.set("hash", "md5");
      else after.delete("hash");
      if (pyEquals(before, after)) continue;
      const updates = byDvcFile.get(stage.file) ?? [];
      updates.push({ index, entry: after });
      byDvcFile.set(stage.file, updates);
    }
  }
  for (const [lockFile, entries] of byLock) {
    const oldText = workspace.lockTexts.get(lockFile);
    const update = updateLockText(oldText, entries, lockFile);
    if (update.generated) info.push(`Generating lock file '${show(lockFile)}'`);
    if (update.modified) info.push(`Updating lock file '${show(lockFile)}'`);
    files.set(lockFile, { bytes: encoder.encode(update.text), isLock: true });
    old.set(lockFile, oldText);
  }
  for (const [file, updates] of byDvcFile) {
    const oldText = workspace.dvcTexts.get(file)!;
    files.set(file, {
      bytes: encoder.encode(updateDvcFileText(oldText, file, updates)),
      isLock: false,
    });
    old.set(file, oldText);
  }
  return {
    files,
    info,
    async write(root) {
      const written: string[] = [];
      const decoder = new TextDecoder();
      for (const [path, { bytes }] of files) {
        if (old.get(path) === decoder.decode(bytes)) continue;
        await writeAtomically(absPath(root, path), bytes);
        written.push(path);
      }
      return async () => {
        for (const path of written) {
          const before = old.get(path);
          if (before === undefined) await unlink(absPath(root, path)).catch(() => undefined);
          else await writeAtomically(absPath(root, path), encoder.encode(before));
        }
      };
    },
  };
}

/** Replaces a file through a temporary name next to it, keeping its mode. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const mode = await lstat(path).then((s) => s.mode & 0o7777, () => 0o666 & ~process.umask());
  const tmp = tempNameFor(path);
  try {
    await writeFile(tmp, bytes, { flag: "wx", mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}
