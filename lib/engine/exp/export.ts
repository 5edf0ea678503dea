/**
 * `exp export`: experiments and their data in one tar stream (see
 * export_format.ts) for a site that can reach neither the Git server nor
 * the DVC remote. Everything is checked before the first byte is written
 * (selection, history, every object present in the cache); the archive is
 * then streamed member by member, so memory does not grow with its size.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { openCache } from "../../cache/mod.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { planBundle, writeBundle } from "../../git/bundle_write.ts";
import { localExpRefs, unresolvedNamesError } from "../../git/exp_refs.ts";
import { ObjectStore } from "../../git/pack/object_store.ts";
import type { GitCache } from "../../git/revision.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { TarWriter } from "../../util/tar_write.ts";
import { throwIfAborted } from "../../store/abort.ts";
import {
  type ArchiveProgress,
  BUNDLE_PATH,
  encodeManifest,
  type ExportedExp,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST_PATH,
  MANIFEST_SUM_PATH,
  type ManifestMember,
  README_PATH,
  README_TEXT,
} from "./export_format.ts";
import { experimentObjects, type ExportObject, locateObjects } from "./export_objects.ts";
import { type ExportSink, fileSink, streamSink, volumeSink } from "./export_sink.ts";
import { knownToReceiver } from "./export_since.ts";
import { haveObjectId } from "./have.ts";
import { type ExpSelection, selectExperiments } from "./select.ts";

export type { ArchiveProgress };

/** Where the archive goes: a file (optionally in volumes), or a caller's stream. */
export type ExportOutput =
  | { readonly path: string; readonly split?: number }
  | { readonly write: (chunk: Uint8Array) => Promise<void> };

export interface ExpExportOptions extends ExpSelection {
  readonly output: ExportOutput;
  /** Refs and commits only, no DVC objects. */
  readonly noCache?: boolean;
  /** Earlier export files or Git revisions the receiver has. */
  readonly since?: readonly string[];
  /** A have file written by `dxp exp have` on the receiving side. */
  readonly have?: string;
  /** Recorded in the manifest. */
  readonly dxpVersion: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ArchiveProgress) => void;
  readonly onDebug?: (line: string) => void;
}

export interface ExpExportResult {
  readonly experiments: readonly ExportedExp[];
  /** Files written (one, or the volumes); empty for a stream or when nothing was selected. */
  readonly files: readonly string[];
  /** DVC objects carried, and their bytes. */
  readonly objects: number;
  readonly objectBytes: number;
  /** DVC objects left out because the receiver has them (--since/--have). */
  readonly objectsLeftOut: number;
  readonly gitObjects: number;
  readonly prerequisites: readonly string[];
  /** Bytes of the whole archive. */
  readonly bytes: number;
}

const CHUNK = 1024 * 1024;

/**
 * Selects experiments as `exp push` does, plans the Git bundle (only what
 * the receiver lacks: beyond the baselines, or beyond `--since`/`--have`)
 * and the DVC objects (minus those the receiver has), checks that every
 * object is in the local cache, then writes the archive. A file output is
 * made visible only once complete.
 *
 * @example
 * const result = await expExport(openProject(".", process.env), {
 *   names: ["exp-b"],
 *   output: { path: "exp-b.tar" },
 *   dxpVersion: "0.1.0",
 * });
 */
export async function expExport(
  project: Project,
  options: ExpExportOptions,
): Promise<ExpExportResult> {
  const gitCache: GitCache = {};
  const gitdir = project.gitDir;
  const selected = await selectExperiments(
    gitdir,
    await localExpRefs(gitdir),
    options,
    "union",
    gitCache,
  );
  const absent = selected.filter((exp) => exp.sha === undefined).map((exp) => exp.ref);
  if (absent.length > 0) throw unresolvedNamesError(absent);
  const experiments: ExportedExp[] = selected.map((e) => ({
    ref: e.ref,
    name: e.name,
    baseline: e.baseline,
    sha: e.sha,
  }));
  const empty: ExpExportResult = {
    experiments,
    files: [],
    objects: 0,
    objectBytes: 0,
    objectsLeftOut: 0,
    gitObjects: 0,
    prerequisites: [],
    bytes: 0,
  };
  if (selected.length === 0) return empty;

  const known = await knownToReceiver(gitdir, options.since ?? [], options.have, gitCache);
  // Without --have the receiver is assumed to have the baselines (a clone of this project).
  const haves = options.have === undefined
    ? [...new Set([...selected.map((e) => e.baseline), ...known.commits])]
    : known.commits;
  const store = ObjectStore.open(gitdir);
  const workspace = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: workspace.cacheDir ?? join(project.dvcDir, "cache"),
    shared: workspace.cacheShared,
  });
  const tmpDir = join(project.dvcDir, "tmp");
  let bundlePath: string | undefined;
  try {
    const presentHaves: string[] = [];
    for (const oid of haves) if (await store.has(oid)) presentHaves.push(oid);
    const bundle = await planBundle(
      gitdir,
      experiments.map((e) => ({
        ref: e.ref,
        oid: e.sha,
      })),
      presentHaves,
      store,
    );
    if (bundle.prerequisites.length === 0) {
      throw new DxpError(
        "UnrelatedHave",
        options.have !== undefined
          ? `None of the commits in '${options.have}' is in the experiments' history: it was written in another project, or in a clone without this project's history; nothing was exported.`
          : "The experiments' history does not reach their baselines: the file would hold a whole history any repository accepts; nothing was exported.",
        ExitCode.failure,
      );
    }
    options.onDebug?.(
      `bundle: ${bundle.objects.length} Git objects on ${bundle.prerequisites.length} prerequisite commits`,
    );

    let objects: ExportObject[] = [];
    let leftOut = 0;
    if (!options.noCache) {
      const { objects: all, byExp } = await experimentObjects(project, selected, cache, gitCache);
      const wanted = [...all.values()].filter((o) => {
        const has = known.objectKeys.has(o.key) ||
          (known.have !== undefined && haveObjectId(known.have, o.oid, o.scheme));
        if (has) leftOut++;
        return !has;
      });
      const names = new Map(selected.map((e) => [e.ref, e.name]));
      objects = await locateObjects(wanted, byExp, names, cache, options.signal);
    }

    await mkdir(tmpDir, { recursive: true });
    bundlePath = join(tmpDir, `dxp-export-${randomBytes(6).toString("hex")}.bundle`);
    const bundleFile = await fileSink(bundlePath);
    let bundleSize: number;
    try {
      bundleSize = await writeBundle(bundle, store, bundleFile);
      await bundleFile.finish();
    } catch (error) {
      await bundleFile.abort();
      throw error;
    }

    const sink = await openSink(options.output);
    try {
      const totalBytes = bundleSize + objects.reduce((n, o) => n + o.size, 0);
      const progress = { doneObjects: 0, doneBytes: 0 };
      const report = () =>
        options.onProgress?.({
          phase: "exporting",
          totalObjects: objects.length,
          totalBytes,
          ...progress,
        });
      const tar = new TarWriter(sink);
      const members: ManifestMember[] = [];
      const add = async (
        path: string,
        size: number,
        mode: number,
        chunks: AsyncIterable<Uint8Array>,
      ) => {
        const hash = createHash("sha256");
        await tar.add(
          { path, size, mode },
          hashing(chunks, hash, (n) => {
            progress.doneBytes += n;
            report();
          }),
        );
        members.push({ path, size, sha256: hash.digest("hex") });
      };
      const readme = new TextEncoder().encode(README_TEXT);
      await add(README_PATH, readme.length, 0o644, once(readme));
      await add(BUNDLE_PATH, bundleSize, 0o644, fileChunks(bundlePath, bundleSize, options.signal));
      for (const object of objects) {
        throwIfAborted(options.signal);
        await add(
          object.key,
          object.size,
          0o444,
          fileChunks(object.path, object.size, options.signal),
        );
        progress.doneObjects++;
        report();
      }
      const { json, sum } = encodeManifest({
        format: FORMAT,
        format_version: FORMAT_VERSION,
        dxp_version: options.dxpVersion,
        experiments,
        prerequisites: bundle.prerequisites,
        dvc_objects: !options.noCache,
        volume_size: "split" in options.output ? options.output.split ?? null : null,
        members,
      });
      await tar.add({ path: MANIFEST_PATH, size: json.length }, json);
      await tar.add({ path: MANIFEST_SUM_PATH, size: sum.length }, sum);
      await tar.end();
      const files = await sink.finish();
      return {
        experiments,
        files,
        objects: objects.length,
        objectBytes: objects.reduce((n, o) => n + o.size, 0),
        objectsLeftOut: leftOut,
        gitObjects: bundle.objects.length,
        prerequisites: bundle.prerequisites,
        bytes: tar.bytes,
      };
    } catch (error) {
      await sink.abort();
      throw error;
    }
  } finally {
    await store.close();
    if (bundlePath !== undefined) await rm(bundlePath, { force: true });
  }
}

async function openSink(output: ExportOutput): Promise<ExportSink> {
  if ("write" in output) return streamSink(output.write);
  return output.split === undefined
    ? await fileSink(output.path)
    : await volumeSink(output.path, output.split);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function* hashing(
  chunks: AsyncIterable<Uint8Array>,
  hash: ReturnType<typeof createHash>,
  onBytes: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
    onBytes(chunk.length);
  }
}

/**
 * The bytes of a file: a small one in one synchronous read (thousands of
 * async open/read/close round trips cost more than their bytes), a big one
 * in 1 MiB chunks with the next read under way while a chunk is handled.
 * A file whose size changed since it was planned is an error: the archive
 * would lie.
 */
async function* fileChunks(
  path: string,
  size: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  throwIfAborted(signal);
  if (size <= CHUNK) {
    const bytes = readFileSync(path);
    if (bytes.length !== size) throw changed(path, bytes.length, size);
    yield bytes;
    return;
  }
  const handle = await open(path, "r");
  // Two buffers in turn: the sink has copied a chunk by the time the next is asked for.
  const buffers = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
  let turn = 0;
  const next = () => {
    const buffer = buffers[turn++ % 2]!;
    return handle.read(buffer, 0, CHUNK, null).then(({ bytesRead }) =>
      buffer.subarray(0, bytesRead)
    );
  };
  let ahead = next();
  try {
    let done = 0;
    for (;;) {
      throwIfAborted(signal);
      const bytes = await ahead;
      if (bytes.length === 0) break;
      done += bytes.length;
      if (done > size) break;
      ahead = next();
      yield bytes;
    }
    if (done !== size) throw changed(path, done, size);
  } finally {
    await ahead.catch(() => undefined);
    await handle.close();
  }
}

function changed(path: string, actual: number, size: number): DxpError {
  return new DxpError(
    "ChangedWhileExporting",
    `'${path}' changed while it was being exported (${actual} bytes instead of ${size}); nothing was exported.`,
    ExitCode.failure,
  );
}
