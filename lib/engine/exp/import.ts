/**
 * `exp import`: bring experiments and their data from an export file into
 * this clone, with `exp pull`'s rules. Verify first, change after:
 *
 * 1. read the whole file once, checking and staging it (import_stage.ts);
 * 2. store its pack in a quarantine and check every commit, tree and blob
 *    the experiments need is there or here, and every DVC object their
 *    commits need is in the file or in the cache;
 * 3. decide each ref's status as `exp pull` does (new, up to date,
 *    diverged unless --force);
 * 4. only then: the pack into the repository, the objects into the cache
 *    (files before `.dir` manifests), the refs (compare-and-swap).
 *
 * A refused file leaves refs, cache and work tree as they were. Importing
 * the same file twice changes nothing the second time.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { type LocalCache, openCache } from "../../cache/mod.ts";
import { collectOuts, type DirManifestEntry, objectsOfOuts } from "../../dvc/mod.ts";
import { DxpError, InvalidArgumentError } from "../../errors/mod.ts";
import { BundleQuarantine } from "../../git/bundle_quarantine.ts";
import { storeCommitTree, storeExpCommits, storeIsAncestor } from "../../git/bundle_tree.ts";
import { type ExpRefAt, resolveExpNames, unresolvedNamesError } from "../../git/exp_refs.ts";
import { ObjectStore } from "../../git/pack/object_store.ts";
import { checkRefName, updateRef } from "../../git/ref_write.ts";
import { readHead, readRefs } from "../../git/refs_read.ts";
import { ZERO_OID } from "../../git/transport/types.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import type { ArchiveProgress, ExportedExp } from "./export_format.ts";
import { findVolumes, readVolumes, totalSize, type VolumeSet } from "./import_volumes.ts";
import { refused, stageArchive, type StagedArchive } from "./import_stage.ts";
import type { ExpSyncEntry, ExpSyncResult } from "./sync_types.ts";

/** Where the archive comes from: a file (or its first volume), or a stream (stdin). */
export type ImportInput =
  | { readonly path: string; readonly label?: string }
  | { readonly stream: AsyncIterable<Uint8Array> };

export interface ExpImportOptions {
  readonly input: ImportInput;
  /** Import only these experiments of the file (names or full refs); default: all. */
  readonly names?: readonly string[];
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** `--apply`: refuse, before anything changes, unless exactly one experiment is imported. */
  readonly exactlyOne?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ArchiveProgress) => void;
  readonly onDebug?: (line: string) => void;
}

/**
 * Imports an export file; see the module comment. The result has
 * `exp pull`'s shape (`remote` is the file as named) so it renders alike.
 *
 * @example
 * const { entries } = await expImport(openProject(".", process.env), {
 *   input: { path: "exp-b.tar" },
 * });
 */
export async function expImport(
  project: Project,
  options: ExpImportOptions,
): Promise<ExpSyncResult> {
  const gitdir = project.gitDir;
  const label = "path" in options.input ? options.input.label ?? options.input.path : "-";
  let volumes: VolumeSet | undefined;
  let source: AsyncIterable<Uint8Array>;
  if ("path" in options.input) {
    volumes = await findVolumes(options.input.path, label);
    const set = volumes;
    source = readVolumes(set, 1024 * 1024, (path) => options.onDebug?.(`reading '${path}'`));
  } else {
    source = options.input.stream;
  }
  const workspace = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: workspace.cacheDir ?? join(project.dvcDir, "cache"),
    shared: workspace.cacheShared,
  });
  const tmp = join(project.dvcDir, "tmp");
  await mkdir(tmp, { recursive: true });
  const stagingDir = join(tmp, `dxp-import-${randomBytes(6).toString("hex")}`);
  await mkdir(stagingDir);
  const gitStore = ObjectStore.open(gitdir);
  let quarantine: BundleQuarantine | undefined;
  try {
    const staged = await stageArchive({
      source,
      label,
      ...(volumes ? { volumes } : {}),
      stagingDir,
      cache,
      gitStore,
      totalBytes: volumes ? totalSize(volumes) : 0,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    await gitStore.close();
    const { manifest } = staged;
    options.onDebug?.(
      `verified ${staged.objects.length} DVC objects and the Git bundle of ${manifest.experiments.length} experiments`,
    );
    const selected = await selectFromFile(gitdir, manifest.experiments, options.names ?? []);
    if (options.exactlyOne && selected.length !== 1) {
      throw new InvalidArgumentError(
        `--apply needs exactly one experiment; the file holds ${selected.length}: name the one to apply.`,
      );
    }

    quarantine = await BundleQuarantine.open(gitdir);
    await quarantinePack(quarantine, staged, label);
    const store = quarantine.store();
    if (manifest.dvc_objects) await checkData(project, store, selected, staged, cache, label);

    const localRefs = await readRefs(gitdir, "refs/exps/");
    const entries: ExpSyncEntry[] = selected.map((exp) => ({
      ref: exp.ref,
      name: exp.name,
      baseline: exp.baseline,
      sha: exp.sha,
      previousSha: localRefs.get(exp.ref),
      status: "success",
      forced: false,
    }));
    for (const entry of entries) {
      if (entry.previousSha === entry.sha) entry.status = "up_to_date";
      else if (
        entry.previousSha !== undefined &&
        !(await storeIsAncestor(store, entry.previousSha, entry.sha))
      ) {
        if (options.force) entry.forced = true;
        else entry.status = "diverged";
      }
    }
    if (options.dryRun) return { entries, remote: label, data: null, dryRun: true };

    await quarantine.promote();
    const transferred = await moveIntoCache(cache, staged);
    for (const entry of entries) {
      if (entry.status !== "success") continue;
      await updateRef(gitdir, entry.ref, entry.sha, entry.previousSha ?? ZERO_OID);
    }
    return {
      entries,
      remote: label,
      // Every object the experiments need was checked to be here before this point.
      data: {
        transferred,
        missing: [],
        failed: 0,
        warnings: [],
        complete: new Set(entries.map((e) => e.ref)),
        incomplete: new Map(),
      },
      dryRun: false,
    };
  } finally {
    await gitStore.close();
    await quarantine?.dispose();
    await rm(stagingDir, { recursive: true, force: true });
  }
}

/** The file's experiments, or those of them the user named (as `exp pull` resolves names). */
async function selectFromFile(
  gitdir: string,
  experiments: readonly ExportedExp[],
  names: readonly string[],
): Promise<ExportedExp[]> {
  for (const exp of experiments) checkRefName(exp.ref);
  if (names.length === 0) return [...experiments];
  const available: ExpRefAt[] = experiments.map((e) => ({ ...e }));
  const { found, unresolved } = resolveExpNames(names, available, (await readHead(gitdir)).oid);
  const absent = names.filter((n) => found.get(n)?.sha === undefined);
  if (unresolved.length > 0 || absent.length > 0) {
    throw unresolvedNamesError([...new Set([...unresolved, ...absent])]);
  }
  const picked = new Map<string, ExportedExp>();
  for (const name of names) {
    const exp = found.get(name)!;
    picked.set(exp.ref, experiments.find((e) => e.ref === exp.ref)!);
  }
  return [...picked.values()];
}

/** Stores the bundle's pack in the quarantine and checks the experiments' history is complete. */
async function quarantinePack(
  quarantine: BundleQuarantine,
  staged: StagedArchive,
  label: string,
): Promise<void> {
  const bytes = await readFile(staged.bundlePath);
  const pack = new Uint8Array(bytes.buffer, bytes.byteOffset + staged.bundle.packOffset);
  try {
    await quarantine.addPack(pack);
    await quarantine.checkConnected(
      staged.manifest.experiments.map((e) => e.sha),
      staged.bundle.prerequisites,
    );
  } catch (error) {
    if (!(error instanceof DxpError)) throw error;
    throw refused(label, `its Git bundle is incomplete or damaged: ${lowerFirst(error.message)}`);
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/[.;] nothing was stored\.?$/, "")
    .replace(/\.$/, "");
}

/**
 * Every DVC object the selected experiments' commits need (as `exp pull`
 * would download) must be in the file or already in the cache: a file made
 * with `--since`/`--have` for another state of this cache is refused.
 */
async function checkData(
  project: Project,
  store: ObjectStore,
  experiments: readonly ExportedExp[],
  staged: StagedArchive,
  cache: LocalCache,
  label: string,
): Promise<void> {
  const inFile = new Map(staged.objects.map((o) => [o.key, o]));
  const subdir = relative(project.gitWorkTree, project.root).split("\\").join("/");
  const manifests = new Map<string, DirManifestEntry[]>();
  const readManifest = async (oid: string, scheme: HashScheme) => {
    const key = scheme === "md5"
      ? `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`
      : `${oid.slice(0, 2)}/${oid.slice(2)}`;
    const path = inFile.get(key)?.staged ?? cache.objectPath(oid, scheme);
    if (!inFile.has(key) && !(await cache.has(oid, scheme))) return undefined;
    return await readFile(path).catch(() => undefined);
  };
  const checked = new Set<string>();
  for (const exp of experiments) {
    for (const commit of await storeExpCommits(store, exp.sha, exp.baseline)) {
      const tree = storeCommitTree(store, commit, subdir);
      const { outs } = await collectOuts(tree, { strict: true, revision: commit });
      const set = await objectsOfOuts(outs, readManifest, { push: true, manifests });
      const lacking = new Set(set.missingManifests.map((o) => o.key));
      for (const object of set.objects) {
        if (checked.has(object.key) || inFile.has(object.key)) continue;
        if (await cache.has(object.oid, object.scheme)) checked.add(object.key);
        else lacking.add(object.key);
      }
      if (lacking.size > 0) {
        const first = [...lacking][0];
        throw refused(
          label,
          `experiment '${exp.name}' needs ${lacking.size} DVC ${
            lacking.size === 1 ? "object" : "objects"
          } neither in the file nor in this cache (first: '${first}'): it was exported with --since/--have for another state of this clone`,
        );
      }
    }
  }
}

/**
 * Moves the staged objects (already 0444) into the cache: files first,
 * `.dir` manifests last, so a `.dir` in the cache always means its members
 * are there. A rename when the cache is on the same file system, else a
 * verified copy.
 */
async function moveIntoCache(cache: LocalCache, staged: StagedArchive): Promise<number> {
  const pending = staged.objects.filter((o) => o.staged !== undefined);
  pending.sort((a, b) => Number(a.isDir) - Number(b.isDir));
  const made = new Set<string>();
  let moved = 0;
  for (const object of pending) {
    const target = cache.objectPath(object.oid, object.scheme);
    await cache.beforeDownload({ key: object.key, localPath: target });
    const dir = dirname(target);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    try {
      // Synchronous: a thousand renames through the thread pool cost more than the renames.
      renameSync(object.staged!, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
      await cache.store.put(object.key, object.staged!, {
        expect: { hash: object.oid.slice(0, 32), scheme: object.isDir ? "md5" : object.scheme },
      });
    }
    moved++;
  }
  return moved;
}
