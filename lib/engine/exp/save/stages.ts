import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { InvalidArgumentError } from "../../../errors/mod.ts";
import { collectOuts } from "../../../dvc/collect_outs.ts";
import { parseDvcFile } from "../../../dvc/dvc_file.ts";
import { isPlainObject, resolveDeep } from "../../../dvc/interpolate.ts";
import { StageFileError } from "../../../dvc/out.ts";
import { type ParamsDecl, parseParamsDecl } from "../../../dvc/params_values.ts";
import { parsePipelineFile } from "../../../dvc/pipeline_file.ts";
import { type PyDict, type PyValue, toPyValue } from "../../../dvc/py_value.ts";
import { joinInside } from "../../../dvc/safe_path.ts";
import { joinTreePath, treeDirname } from "../../../dvc/tree.ts";
import { workspaceTree } from "../../../dvc/workspace_tree.ts";
import type { HashScheme } from "../../../util/object_hasher.ts";

/** A dependency or output of a stage to be saved. */
export interface SaveItem {
  /** As written in the stage file (relative to the stage's `wdir`). */
  readonly defPath: string;
  /** Project path. */
  readonly path: string;
  /** The scheme its recorded hash uses (`md5-dos2unix` for a DVC 2.x entry, else `md5`). */
  readonly scheme: HashScheme;
  /** The md5 recorded for it now, if any. */
  readonly recorded?: string | undefined;
}

/** An output of a stage to be saved. */
export interface SaveOut extends SaveItem {
  readonly cache: boolean;
  readonly persist: boolean;
  /** Index in the `.dvc` file's `outs` (single-stage files only). */
  readonly index?: number;
}

/** A stage `exp save` commits: a `dvc.yaml` stage or a `.dvc` file. */
export interface SaveStage {
  readonly kind: "pipeline" | "dvcfile";
  /** `dvc.yaml` or `.dvc` file (project path). */
  readonly file: string;
  /** Stage name (pipeline) or the `.dvc` file's path. */
  readonly name: string;
  /** `dvc.lock` next to the `dvc.yaml` (pipeline stages). */
  readonly lockFile?: string;
  readonly cmd?: PyValue;
  readonly deps: readonly SaveItem[];
  readonly params: readonly ParamsDecl[];
  /** Project path of the stage's `wdir` (params files are relative to it). */
  readonly wdir: string;
  readonly outs: readonly SaveOut[];
  readonly alwaysChanged: boolean;
}

/** Every stage of the workspace, with the `dvc.lock` files' parsed contents. */
export interface WorkspaceStages {
  readonly stages: SaveStage[];
  /** `dvc.lock` path → its text (absent: no lock file yet). */
  readonly lockTexts: Map<string, string | undefined>;
  /** `.dvc` file path → its text. */
  readonly dvcTexts: Map<string, string>;
  /** `.dvc` files left alone (imports, old stages with commands). */
  readonly skipped: string[];
  /** Top-level `metrics`/`params`/`plots` files of the `dvc.yaml` files (project paths). */
  readonly topLevelFiles: string[];
}

const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Reads every stage file of the workspace (strictly: one that cannot be
 * read stops the save) into the stages `dvc commit` would save.
 */
export async function loadWorkspaceStages(root: string): Promise<WorkspaceStages> {
  const tree = workspaceTree(root);
  const { stageFiles } = await collectOuts(tree, { strict: true });
  const decoder = new TextDecoder();
  const readText = async (path: string) => {
    const bytes = await tree.readFile(path);
    return bytes === undefined ? undefined : decoder.decode(bytes);
  };
  const result: WorkspaceStages = {
    stages: [],
    lockTexts: new Map(),
    dvcTexts: new Map(),
    skipped: [],
    topLevelFiles: [],
  };
  for (const file of stageFiles) {
    const text = (await readText(file)) ?? "";
    if (file.endsWith(".dvc")) {
      const stage = dvcFileStage(file, text);
      if (stage === undefined) result.skipped.push(file);
      else {
        result.stages.push(stage);
        result.dvcTexts.set(file, text);
      }
      continue;
    }
    const dir = treeDirname(file);
    const lockFile = joinTreePath(dir, "dvc.lock");
    const lockText = await readText(lockFile);
    result.lockTexts.set(lockFile, lockText);
    const locked = lockStages(lockText, lockFile);
    for (const declared of await parsePipelineFile(text, file, readText)) {
      const at = { file, line: declared.line };
      try {
        result.stages.push(pipelineStage(declared, dir, file, lockFile, locked));
      } catch (error) {
        if (error instanceof StageFileError) throw error.at(at);
        throw error;
      }
    }
    result.topLevelFiles.push(...topLevelFiles(text, dir));
  }
  return result;
}

function pipelineStage(
  declared: Awaited<ReturnType<typeof parsePipelineFile>>[number],
  dir: string,
  file: string,
  lockFile: string,
  locked: Map<string, PyDict>,
): SaveStage {
  const { name, body, context } = declared;
  const wdir = joinInside(dir, declared.wdir, "stage wdir");
  const cmd = toPyValue(resolveDeep(body["cmd"], context));
  if (
    !(typeof cmd === "string" && cmd !== "") &&
    !(Array.isArray(cmd) && cmd.length > 0 && cmd.every((c) => typeof c === "string"))
  ) {
    throw new StageFileError(`stage '${name}' has no 'cmd'`);
  }
  const entry = locked.get(name);
  const schemeOf = (section: "deps" | "outs", defPath: string) => {
    const items = entry?.get(section);
    const item = Array.isArray(items)
      ? items.find((i) => i instanceof Map && i.get("path") === defPath)
      : undefined;
    if (!(item instanceof Map)) return { scheme: "md5" as HashScheme, recorded: undefined };
    const md5 = item.get("md5");
    return {
      scheme:
        (typeof md5 === "string" && item.get("hash") === undefined
          ? "md5-dos2unix"
          : "md5") as HashScheme,
      recorded: typeof md5 === "string" ? md5.toLowerCase() : undefined,
    };
  };
  const rawDeps = resolveDeep(body["deps"] ?? [], context);
  if (!Array.isArray(rawDeps)) throw new StageFileError(`'deps' of stage '${name}' must be a list`);
  const deps: SaveItem[] = rawDeps.map((dep) => {
    const defPath = typeof dep === "string"
      ? dep
      : isPlainObject(dep) && Object.keys(dep).length === 1
      ? Object.keys(dep)[0]!
      : undefined;
    if (defPath === undefined) {
      throw new StageFileError(`a dependency of stage '${name}' is not a path`);
    }
    external(defPath, name);
    return {
      defPath,
      path: joinInside(wdir, defPath, "dependency path"),
      ...schemeOf("deps", defPath),
    };
  });
  const outs: SaveOut[] = declared.outs.map((out) => {
    external(out.path, name);
    return {
      defPath: out.path,
      path: joinInside(wdir, out.path, "output path"),
      cache: out.flags.cache,
      persist: out.flags.persist,
      ...schemeOf("outs", out.path),
    };
  });
  return {
    kind: "pipeline",
    file,
    name,
    lockFile,
    cmd,
    deps,
    params: parseParamsDecl(resolveDeep(body["params"], context), name),
    wdir,
    outs,
    alwaysChanged: body["always_changed"] === true,
  };
}

function external(path: string, stage: string): void {
  if (URL_LIKE.test(path)) {
    throw new InvalidArgumentError(
      `stage '${stage}' uses the external path '${path}', which dxp exp save does not support; save this experiment with DVC`,
    );
  }
}

/** A `dvc add`-style `.dvc` file as a stage, or `undefined` for imports and command stages. */
function dvcFileStage(file: string, text: string): SaveStage | undefined {
  const parsed = parseDvcFile(text, file);
  const raw = parseDocument(text).toJS() as Record<string, unknown>;
  if (parsed.isRepoImport || raw["deps"] !== undefined || raw["cmd"] !== undefined) {
    return undefined;
  }
  const wdir = joinInside(treeDirname(file), parsed.wdir, "'.dvc' wdir");
  const outs: SaveOut[] = parsed.outs.map((out, index) => {
    external(out.path, file);
    return {
      defPath: out.path,
      path: joinInside(wdir, out.path, "output path"),
      cache: out.flags.cache,
      persist: out.flags.persist,
      scheme: out.md5 !== undefined && out.hashName === undefined ? "md5-dos2unix" : "md5",
      recorded: out.md5,
      index,
    };
  });
  return {
    kind: "dvcfile",
    file,
    name: file,
    deps: [],
    params: [],
    wdir,
    outs,
    alwaysChanged: false,
  };
}

/** The `stages` of a `dvc.lock` text as Python-typed entries. */
export function lockStages(text: string | undefined, file: string): Map<string, PyDict> {
  const out = new Map<string, PyDict>();
  if (text === undefined) return out;
  const doc = parseDocument(text, { intAsBigInt: true });
  if (doc.errors.length > 0) {
    throw new StageFileError(doc.errors[0]!.message.split("\n")[0] ?? "invalid YAML", { file });
  }
  const data = toPyValue(doc.toJS({ mapAsMap: true }));
  if (!(data instanceof Map)) return out;
  const stages = data.get("stages");
  if (!(stages instanceof Map)) return out;
  for (const [name, entry] of stages) if (entry instanceof Map) out.set(name, entry);
  return out;
}

/** DVC's top-level `metrics:`, `params:` and plot source files of a `dvc.yaml` (project paths). */
function topLevelFiles(text: string, dir: string): string[] {
  const data = parseDocument(text).toJS() as unknown;
  if (!isPlainObject(data)) return [];
  const files: string[] = [];
  const add = (path: unknown) => {
    if (typeof path !== "string" || URL_LIKE.test(path)) return;
    try {
      files.push(joinInside(dir, path, "top-level file"));
    } catch {
      // an unsafe path is never added to the commit
    }
  };
  for (const key of ["metrics", "params"]) {
    const list = data[key];
    if (Array.isArray(list)) list.forEach(add);
  }
  const plots = data["plots"];
  if (Array.isArray(plots)) {
    for (const plot of plots) {
      if (typeof plot === "string") add(plot);
      else if (isPlainObject(plot)) {
        for (const [name, def] of Object.entries(plot)) {
          const y = isPlainObject(def) ? def["y"] : undefined;
          if (isPlainObject(y)) Object.keys(y).forEach(add);
          else add(name);
        }
      }
    }
  }
  return files;
}

/** Reads a project file as text, `undefined` when missing. */
export async function readProjectText(root: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, ...path.split("/")), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
