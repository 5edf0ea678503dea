import { readFile } from "node:fs/promises";
import { cacheObjectPath } from "../../cache/layout.ts";
import { collectOuts } from "../../dvc/collect_outs.ts";
import {
  declaredMetricsParams,
  parseValuesFile,
  type ValuesFile,
} from "../../dvc/metrics_params.ts";
import type { DvcOut } from "../../dvc/out.ts";
import type { ProjectTree } from "../../dvc/tree.ts";

/** Params and metrics of one revision, file by file in DVC's collection order. */
export interface RevValues {
  params: Map<string, ValuesFile>;
  metrics: Map<string, ValuesFile>;
  /** Problems that hid some of this revision's values (unreadable `dvc.yaml`, …). */
  errors: string[];
}

/** Options of {@link readRevValues}. */
export interface RevValuesOptions {
  /** The local cache folder, to read cached (`cache: true`) metrics that Git does not hold. */
  cacheDir?: string;
  /** Only params that are stage dependencies. */
  paramDeps?: boolean;
}

/**
 * Reads the declared params and metrics of one tree (a commit or the work
 * tree). A declared file that is missing from the tree but recorded as a
 * cached output in `dvc.lock`/`.dvc` is read from the local cache, as DVC's
 * filesystem does; a file found nowhere is left out.
 */
export async function readRevValues(
  source: ProjectTree,
  options: RevValuesOptions = {},
): Promise<RevValues> {
  const tree = rememberFiles(source);
  const decl = await declaredMetricsParams(
    tree,
    options.paramDeps ? { paramDeps: true } : {},
  );
  const errors = [...decl.warnings];
  let outs: Promise<Map<string, DvcOut>> | undefined;
  const fromCache = async (path: string): Promise<Uint8Array | undefined> => {
    if (options.cacheDir === undefined) return undefined;
    // An unsafe or broken lock file only costs the cache fallback.
    outs ??= collectOuts(tree).then(
      (found) => new Map(found.outs.filter((o) => !o.isDir).map((o) => [o.path, o])),
      () => new Map(),
    );
    const out = (await outs).get(path);
    if (out === undefined) return undefined;
    try {
      return new Uint8Array(
        await readFile(cacheObjectPath(options.cacheDir, out.hash, out.scheme)),
      );
    } catch {
      return undefined;
    }
  };
  const read = async (path: string, keys: readonly string[] | null) => {
    const bytes = (await tree.readFile(path)) ?? (await fromCache(path));
    return bytes === undefined ? undefined : parseValuesFile(bytes, path, keys);
  };
  const params = new Map<string, ValuesFile>();
  for (const [file, keys] of decl.params) {
    const values = await read(file, keys);
    if (values !== undefined) params.set(file, values);
  }
  const metrics = new Map<string, ValuesFile>();
  for (const file of decl.metrics) {
    const values = await read(file, null);
    if (values !== undefined) metrics.set(file, values);
  }
  return { params, metrics, errors };
}

/** `tree` with each file read once (`params.yaml` serves templating and values). */
function rememberFiles(tree: ProjectTree): ProjectTree {
  const files = new Map<string, Promise<Uint8Array | undefined>>();
  return {
    listDir: (path) => tree.listDir(path),
    readFile(path) {
      let pending = files.get(path);
      if (pending === undefined) files.set(path, pending = tree.readFile(path));
      return pending;
    },
  };
}
