import { UnsafePathError } from "../errors/mod.ts";
import {
  InterpolationError,
  isPlainObject,
  resolveDeep,
  resolveString,
  toStr,
} from "./interpolate.ts";
import { type EntryProblem, type OutFlags, readFlags, StageFileError } from "./out.ts";
import { joinInside } from "./safe_path.ts";
import { treeDirname } from "./tree.ts";
import { parseYamlSource, type YamlSource } from "./yaml_source.ts";

/** An output declared by a `dvc.yaml` stage (`outs`, `metrics` or `plots`). */
export interface DeclaredOut {
  /** As written after templating: relative to the stage's `wdir`. */
  path: string;
  flags: OutFlags;
}

/** One (expanded) pipeline stage. */
export interface DeclaredStage {
  /** Name as used in `dvc.lock`: `train`, `build@uk`, `fit@cnn-a`. */
  name: string;
  /** Working directory relative to the `dvc.yaml` folder (`.` by default). */
  wdir: string;
  outs: DeclaredOut[];
  /** 1-based line of the stage's definition in `dvc.yaml`. */
  line?: number;
  /**
   * The stage's definition as written (the `do:` body for `foreach`), with
   * the templating context its `${…}` expressions resolve against; for
   * readers of fields beyond the outputs (`cmd`, `deps`, `params`).
   */
  body: Record<string, unknown>;
  context: Record<string, unknown>;
}

/** Reads a project file (tree path); `undefined` when it does not exist. */
export type ReadText = (path: string) => Promise<string | undefined>;

const DEFAULT_PARAMS = "params.yaml";

/**
 * Parses `dvc.yaml` at tree path `file`: expands `foreach` (list or mapping)
 * and `matrix` stages and resolves `${…}` templating in `wdir` and output
 * paths, loading `vars` files and `params.yaml` through `readText`.
 * Throws {@link StageFileError} (with the file and line) for anything DVC
 * would fail to collect.
 */
export async function parsePipelineFile(
  text: string,
  file: string,
  readText: ReadText,
): Promise<DeclaredStage[]> {
  const source = parseYamlSource(text, file, { intAsBigInt: true });
  const data = source.data;
  if (data === null || data === undefined) return [];
  const where = (path: (string | number)[]) => ({ file, line: source.lineOf(path) });
  if (!isPlainObject(data)) throw new StageFileError("the file is not a YAML mapping", where([]));
  const dir = treeDirname(file);
  const ctx: Record<string, unknown> = {};
  await located(where([]), async () => {
    const paramsFile = joinInside(dir, DEFAULT_PARAMS, "params file");
    const params = await readText(paramsFile);
    if (params !== undefined) {
      Object.assign(ctx, asMapping(parseYaml(params, paramsFile), paramsFile));
    }
  });
  await located(where(["vars"]), () => loadVars(ctx, data["vars"], dir, readText));
  const stages = data["stages"] ?? {};
  if (!isPlainObject(stages)) {
    throw new StageFileError("'stages' must be a mapping", where(["stages"]));
  }
  const out: DeclaredStage[] = [];
  for (const [name, def] of Object.entries(stages)) {
    const at = where(["stages", name]);
    if (!isPlainObject(def)) throw new StageFileError(`stage '${name}' must be a mapping`, at);
    await located(at, async () => {
      for (const [fullName, body, extra] of expand(name, def, ctx)) {
        const stage = await resolveStage(fullName, body, { ...ctx, ...extra }, dir, readText, {
          source,
          path: ["stages", name, ..."foreach" in def && !("matrix" in def) ? ["do"] : []],
        });
        if (at.line !== undefined) stage.line = at.line;
        out.push(stage);
      }
    });
  }
  return out;
}

/**
 * Runs `work`, giving stage-file problems found without a location (in
 * templating, `vars` files, `foreach`) the location `at`; unsafe paths get
 * the file and line in front of their message.
 */
async function located<T>(
  at: { file: string; line: number | undefined },
  work: () => Promise<T> | T,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StageFileError) throw error.at(at);
    if (error instanceof InterpolationError) throw new StageFileError(error.message, at);
    if (error instanceof UnsafePathError) throw locateUnsafe(error, at);
    throw error;
  }
}

/** An unsafe-path error with the stage file and line it comes from in front. */
export function locateUnsafe(
  error: UnsafePathError,
  at: { file: string; line?: number | undefined },
): UnsafePathError {
  if (error.data["file"] !== undefined) return error;
  const line = at.line === undefined ? "" : `: line ${at.line}`;
  return new UnsafePathError(`'${at.file}' is invalid${line}: ${error.message}`, {
    data: { ...error.data, file: at.file, line: at.line },
  });
}

/**
 * Most stages one `matrix` may generate: a few lines of axes can multiply
 * into billions (ten axes of ten values), which no real pipeline has.
 */
const MAX_MATRIX_STAGES = 100_000;

/** Yields `[lock name, stage body, extra context]` for every generated stage. */
function* expand(
  name: string,
  def: Record<string, unknown>,
  ctx: Record<string, unknown>,
): Generator<[string, Record<string, unknown>, Record<string, unknown>]> {
  // DVC checks `matrix` before `foreach`.
  if ("matrix" in def) {
    const matrix = resolveDeep(def["matrix"], ctx);
    if (!isPlainObject(matrix)) {
      throw new StageFileError(`stage '${name}': 'matrix' must be a mapping`);
    }
    const axes = Object.entries(matrix).map(([key, values]) => {
      const list = resolveDeep(values, ctx);
      if (!Array.isArray(list)) {
        throw new StageFileError(`stage '${name}': matrix '${key}' must be a list`);
      }
      return { key, list };
    });
    const count = axes.reduce((n, axis) => n * axis.list.length, 1);
    if (count > MAX_MATRIX_STAGES) {
      throw new StageFileError(
        `stage '${name}': its 'matrix' makes ${count} stages, more than dxp expands (${MAX_MATRIX_STAGES})`,
      );
    }
    const { matrix: _omit, ...body } = def;
    for (const combo of product(axes.map((a) => a.list.length))) {
      const item: Record<string, unknown> = {};
      const fragments: string[] = [];
      combo.forEach((i, axis) => {
        const { key, list } = axes[axis]!;
        const value = list[i];
        item[key] = value;
        fragments.push(typeof value === "object" && value !== null ? `${key}${i}` : toStr(value));
      });
      const key = fragments.join("-");
      yield [`${name}@${key}`, body, { item, key }];
    }
    return;
  }
  if ("foreach" in def) {
    const body = def["do"];
    if (!isPlainObject(body)) {
      throw new StageFileError(`stage '${name}': 'foreach' needs a 'do' mapping`);
    }
    const items = resolveDeep(def["foreach"], ctx);
    if (Array.isArray(items)) {
      // Lists of scalars are keyed by value, lists with composites by index.
      const byIndex = items.some((v) => typeof v === "object" && v !== null);
      for (const [index, item] of items.entries()) {
        yield [`${name}@${byIndex ? index : toStr(item)}`, body, { item }];
      }
    } else if (isPlainObject(items)) {
      for (const [key, item] of Object.entries(items)) {
        yield [`${name}@${key}`, body, { item, key }];
      }
    } else {
      throw new StageFileError(`stage '${name}': 'foreach' must be a list or a mapping`);
    }
    return;
  }
  yield [name, def, {}];
}

function* product(sizes: number[]): Generator<number[]> {
  if (sizes.some((n) => n === 0)) return;
  const index = sizes.map(() => 0);
  for (;;) {
    yield [...index];
    let axis = sizes.length - 1;
    while (axis >= 0 && ++index[axis]! === sizes[axis]) index[axis--] = 0;
    if (axis < 0) return;
  }
}

async function resolveStage(
  name: string,
  body: Record<string, unknown>,
  ctx: Record<string, unknown>,
  dir: string,
  readText: ReadText,
  at: { source: YamlSource; path: (string | number)[] },
): Promise<DeclaredStage> {
  const rawWdir = body["wdir"] === undefined || body["wdir"] === null
    ? "."
    : resolveString(String(body["wdir"]), ctx);
  const wdir = toStr(rawWdir);
  if (body["vars"] !== undefined) {
    ctx = { ...ctx };
    await loadVars(ctx, body["vars"], joinInside(dir, wdir, "stage wdir"), readText);
  }
  const outs: DeclaredOut[] = [];
  for (const section of ["outs", "metrics", "plots"]) {
    const list = body[section];
    if (list === undefined || list === null) continue;
    const lineOf = (path: (string | number)[]) => at.source.lineOf([...at.path, ...path]);
    if (!Array.isArray(list)) {
      throw new StageFileError(`'${section}' of stage '${name}' must be a list`, {
        line: lineOf([section]),
      });
    }
    for (const [index, item] of list.entries()) {
      const problem: EntryProblem = (detail) => {
        throw new StageFileError(`stage '${name}' ${section} item ${index + 1}: ${detail}`, {
          line: lineOf([section, index]),
        });
      };
      if (typeof item === "string") {
        outs.push({ path: toStr(resolveString(item, ctx)), flags: readFlags(undefined, problem) });
      } else if (isPlainObject(item) && Object.keys(item).length === 1) {
        const [rawPath, flags] = Object.entries(item)[0]!;
        outs.push({
          path: toStr(resolveString(rawPath, ctx)),
          flags: readFlags(resolveDeep(flags, ctx), problem),
        });
      } else {
        problem("must be a path or a one-key mapping");
      }
    }
  }
  return { name, wdir, outs, body, context: ctx };
}

/** Merges `vars` entries (inline mappings, or files `path[:key,…]`) into `ctx`. */
async function loadVars(
  ctx: Record<string, unknown>,
  vars: unknown,
  dir: string,
  readText: ReadText,
): Promise<void> {
  if (vars === undefined || vars === null) return;
  if (!Array.isArray(vars)) throw new StageFileError("'vars' must be a list");
  for (const entry of vars) {
    if (isPlainObject(entry)) {
      Object.assign(ctx, entry);
      continue;
    }
    if (typeof entry !== "string") {
      throw new StageFileError("'vars' entries must be paths or mappings");
    }
    const [path = "", keys] = splitOnce(entry, ":");
    if (!/\.(ya?ml|json)$/i.test(path)) {
      throw new StageFileError(`vars file '${path}' is not YAML or JSON, which is not supported`);
    }
    const full = joinInside(dir, path, "vars file");
    const text = await readText(full);
    if (text === undefined) throw new StageFileError(`vars file '${path}' does not exist`);
    const values = asMapping(parseYaml(text, full), full);
    const wanted = keys ? keys.split(",").filter((k) => k !== "") : Object.keys(values);
    for (const key of wanted) {
      if (!Object.hasOwn(values, key)) {
        throw new StageFileError(`could not find '${key}' in vars file '${path}'`);
      }
      ctx[key] = values[key];
    }
  }
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function parseYaml(text: string, file: string): unknown {
  // Integers as bigint keep `1.0` (float) distinct from `1` for names and paths.
  return parseYamlSource(text, file, { intAsBigInt: true }).data;
}

function asMapping(value: unknown, file: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new StageFileError("the file is not a YAML mapping", { file });
  return value;
}
