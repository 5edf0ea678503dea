import { isMap, isSeq, parse, parseDocument } from "yaml";
import { UnsafePathError } from "../errors/mod.ts";
import { IgnoreRules } from "./dvcignore.ts";
import { isPlainObject } from "./interpolate.ts";
import { StageFileError } from "./out.ts";
import { locateUnsafe, parsePipelineFile } from "./pipeline_file.ts";
import { firstLine, parseYamlSource } from "./yaml_source.ts";
import { joinInside } from "./safe_path.ts";
import { parseToml } from "./toml.ts";
import { joinTreePath, type ProjectTree, treeDirname } from "./tree.ts";
import { parseFlatNumbers } from "./flat_yaml.ts";

/** The metrics and params files a revision declares, as `dvc exp show` collects them. */
export interface MetricsParamsDecl {
  /** Metrics files (tree paths) in declaration order; declared folders are expanded to their files. */
  metrics: string[];
  /** Params files (tree paths) → the key paths to show (`train.lr`), or `null` for the whole file. */
  params: Map<string, string[] | null>;
  /** One line per `dvc.yaml` that could not be read (that file was skipped). */
  warnings: string[];
}

/** Options of {@link declaredMetricsParams}. */
export interface DeclOptions {
  /** Only params that are stage dependencies (DVC's `--param-deps`). */
  paramDeps?: boolean;
}

const PIPELINE_FILE = "dvc.yaml";
const DEFAULT_PARAMS = "params.yaml";
const SEP = "\u0000";
const SECTIONS = ["outs", "metrics", "plots", "params"] as const;

/**
 * Finds every `dvc.yaml` of `tree` (honouring `.dvcignore`, skipping nested
 * projects and output folders, as DVC's index does) and collects:
 * metrics = stage `metrics:` outputs + top-level `metrics:`; params = stage
 * `params:` (keys of the wdir's `params.yaml`, `file: [keys]`, `file:` for the
 * whole file) + top-level `params:` files + the root `params.yaml` as a whole
 * (unless `paramDeps`). Order and merging follow DVC's `_merge_params`.
 */
export async function declaredMetricsParams(
  tree: ProjectTree,
  options: DeclOptions = {},
): Promise<MetricsParamsDecl> {
  const decoder = new TextDecoder();
  const readText = async (path: string) => {
    const bytes = await tree.readFile(path);
    return bytes === undefined ? undefined : decoder.decode(bytes);
  };
  const stageParams: [string, string[] | null][] = [];
  const topParams: string[] = [];
  const metrics: string[] = [];
  const topMetrics: string[] = [];
  const warnings: string[] = [];
  const outDirs = new Set<string>();
  const safe = (base: string, rel: string, what: string, file: string) => {
    try {
      return joinInside(base, rel, what);
    } catch (error) {
      if (!(error instanceof UnsafePathError)) throw error;
      warnings.push(locateUnsafe(error, { file }).message);
      return undefined;
    }
  };

  const readPipeline = async (file: string) => {
    const dir = treeDirname(file);
    const text = (await readText(file)) ?? "";
    const top = parseYaml(text, file);
    if (isPlainObject(top)) {
      for (const path of stringList(top["metrics"], file, "metrics")) {
        const at = safe(dir, path, "metrics path", file);
        if (at !== undefined) topMetrics.push(at);
      }
      if (!options.paramDeps) {
        for (const path of stringList(top["params"], file, "params")) {
          const at = safe(dir, path, "params file", file);
          if (at !== undefined) topParams.push(at);
        }
      }
    }
    const stages = await parsePipelineFile(encodeSections(text, file), file, readText);
    for (const stage of stages) {
      const wdir = safe(dir, stage.wdir, "stage wdir", file);
      if (wdir === undefined) continue;
      for (const { path: encoded } of stage.outs) {
        const [kind, first = "", second] = encoded.split(SEP);
        if (kind === "p") {
          const at = safe(wdir, first === "" ? DEFAULT_PARAMS : first, "params file", file);
          if (at !== undefined) stageParams.push([at, second ? [second] : null]);
          continue;
        }
        const at = safe(wdir, first, "output path", file);
        if (at === undefined) continue;
        outDirs.add(at);
        if (kind === "m") metrics.push(at);
      }
    }
  };

  const walk = async (dir: string, inherited: IgnoreRules): Promise<void> => {
    const entries = await tree.listDir(dir);
    if (entries === undefined) return;
    if (dir !== "" && entries.some((e) => e.name === ".dvc" && e.type === "dir")) return;
    let rules = inherited;
    if (entries.some((e) => e.name === ".dvcignore" && e.type === "file")) {
      rules = rules.withFile(dir, (await readText(joinTreePath(dir, ".dvcignore"))) ?? "");
    }
    const file = joinTreePath(dir, PIPELINE_FILE);
    if (
      entries.some((e) => e.name === PIPELINE_FILE && e.type === "file") &&
      !rules.isIgnored(file, false)
    ) {
      try {
        await readPipeline(file);
      } catch (error) {
        if (error instanceof StageFileError) warnings.push(error.at({ file }).message);
        else throw error;
      }
    }
    for (const entry of entries) {
      const path = joinTreePath(dir, entry.name);
      if (entry.type !== "dir" || outDirs.has(path) || rules.isIgnored(path, true)) continue;
      await walk(path, rules);
    }
  };
  await walk("", IgnoreRules.defaults());

  const params = new Map<string, string[] | null>();
  const add = (file: string, keys: string[] | null) => {
    const known = params.get(file);
    if (keys === null || known === null) params.set(file, null);
    else params.set(file, [...new Set([...(known ?? []), ...keys])]);
  };
  for (const [file, keys] of stageParams) add(file, keys);
  for (const file of topParams) add(file, null);
  if (!options.paramDeps) {
    const root = await tree.listDir("");
    if (root?.some((e) => e.name === DEFAULT_PARAMS && e.type === "file")) {
      add(DEFAULT_PARAMS, null);
    }
  }
  // Stage metrics first, then top-level ones, as DVC's `_collect_metrics`.
  return { metrics: await expandFolders(tree, [...metrics, ...topMetrics]), params, warnings };
}

/**
 * Rewrites every stage (or its `foreach` `do:` body) so that its metrics,
 * other outputs and params all appear as `outs` strings tagged with their
 * kind. {@link parsePipelineFile} then expands `foreach`/`matrix` and
 * resolves `${…}` in them exactly as it does for output paths, so the
 * templating rules live in one place.
 */
function encodeSections(text: string, file: string): string {
  const doc = parseDocument(text, { logLevel: "error" });
  if (doc.errors.length > 0) return text; // parsePipelineFile reports the error
  const stages = doc.get("stages");
  if (!isMap(stages)) return text;
  for (const pair of stages.items) {
    const def = pair.value;
    if (!isMap(def)) continue;
    const body = def.has("foreach") && !def.has("matrix") ? def.get("do") : def;
    if (!isMap(body)) continue;
    const encoded: string[] = [];
    for (const section of SECTIONS) {
      const node = body.get(section);
      if (node === undefined || node === null) continue;
      if (!isSeq(node)) {
        throw new StageFileError(`'${section}' of stage '${String(pair.key)}' must be a list`, {
          file,
        });
      }
      for (const item of node.toJSON() as unknown[]) encoded.push(...encodeEntry(section, item));
      body.delete(section);
    }
    body.set("outs", doc.createNode(encoded));
  }
  return doc.toString();
}

function encodeEntry(section: (typeof SECTIONS)[number], item: unknown): string[] {
  if (section !== "params") {
    const kind = section === "metrics" ? "m" : "o";
    const path = isPlainObject(item) ? Object.keys(item)[0] : item;
    return typeof path === "string" ? [`${kind}${SEP}${path}`] : [];
  }
  if (typeof item === "string") return [`p${SEP}${SEP}${item}`];
  if (!isPlainObject(item)) return [];
  const out: string[] = [];
  for (const [file, keys] of Object.entries(item)) {
    const list = Array.isArray(keys) ? keys.map(String) : [];
    // No keys (null or []) tracks the whole file, as DVC's `_merge_params`.
    if (list.length === 0) out.push(`p${SEP}${file}${SEP}`);
    for (const key of list) out.push(`p${SEP}${file}${SEP}${key}`);
  }
  return out;
}

/** Declared metrics paths with folders replaced by the files under them (sorted), deduplicated. */
async function expandFolders(tree: ProjectTree, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const entries = await tree.listDir(path);
    if (entries === undefined) {
      out.push(path);
      return;
    }
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of sorted) {
      if (entry.type === "file") out.push(joinTreePath(path, entry.name));
      else if (entry.type === "dir") await visit(joinTreePath(path, entry.name));
    }
  };
  for (const path of paths) await visit(path);
  return [...new Set(out)];
}

function stringList(value: unknown, file: string, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new StageFileError(`top-level '${what}' must be a list of paths`, { file });
  }
  return value as string[];
}

function parseYaml(text: string, file: string): unknown {
  return parseYamlSource(text, file).data;
}

/** A params or metrics file as read: its values, or why it could not be read. */
export type ValuesFile = { data: unknown } | { error: string };

/**
 * Parses a params/metrics file by its extension (`.json`, `.toml`, anything
 * else as YAML, DVC's default loader). With `keys`, keeps only those dotted
 * key paths, nested as in the file (missing keys are left out, as DVC does).
 */
export function parseValuesFile(
  bytes: Uint8Array,
  path: string,
  keys: readonly string[] | null,
): ValuesFile {
  const text = new TextDecoder().decode(bytes);
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
  let data: unknown;
  try {
    if (ext === "json") data = JSON.parse(text);
    else if (ext === "toml") data = parseToml(text);
    else if (ext === "py") return { error: `'${path}': Python params files are not supported` };
    else data = parseFlatNumbers(text) ?? parse(text, { logLevel: "error" }) ?? {};
  } catch (error) {
    const format = ext === "json" ? "JSON" : ext === "toml" ? "TOML" : "YAML";
    return { error: `'${path}' is not valid ${format}: ${firstLine(error)}` };
  }
  if (keys === null || !isPlainObject(data)) return { data };
  const picked: Record<string, unknown> = {};
  for (const key of keys) {
    const parts = key.split(".");
    let value: unknown = data;
    for (const part of parts) {
      value = isPlainObject(value) && Object.hasOwn(value, part) ? value[part] : undefined;
    }
    if (value === undefined) continue;
    let target = picked;
    for (const part of parts.slice(0, -1)) {
      if (!isPlainObject(target[part])) target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts[parts.length - 1]!] = value;
  }
  return { data: picked };
}
