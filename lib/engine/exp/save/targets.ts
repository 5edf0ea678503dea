import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { InvalidArgumentError } from "../../../errors/mod.ts";
import type { SaveStage } from "./stages.ts";

/** Where targets are resolved from. */
export interface TargetContext {
  /** The DVC root. */
  readonly root: string;
  /** The user's working directory. */
  readonly cwd: string;
  /** `-R`: a directory target selects every stage defined below it. */
  readonly recursive: boolean;
}

/**
 * The stages `dvc commit <targets>` would collect (DVC's `collect_granular`):
 * `dvc.yaml:name`, a stage name of the `dvc.yaml` in the working
 * directory, a `dvc.yaml` or `.dvc` file (all its stages), the path of an
 * output (its stage), with `-R` a directory (every stage file below it).
 * Stages are returned once each, in workspace order. An unknown target is
 * DVC's "does not exist as an output or a stage name" error.
 */
export async function selectStages(
  stages: readonly SaveStage[],
  targets: readonly string[],
  ctx: TargetContext,
): Promise<SaveStage[]> {
  const chosen = new Set<SaveStage>();
  for (const target of targets) {
    for (const stage of await resolveTarget(stages, target, ctx)) chosen.add(stage);
  }
  return stages.filter((s) => chosen.has(s));
}

async function resolveTarget(
  stages: readonly SaveStage[],
  target: string,
  ctx: TargetContext,
): Promise<SaveStage[]> {
  const colon = target.lastIndexOf(":");
  const [filePart, name] = colon > 0 && !isAbsolute(target.slice(colon + 1))
    ? [target.slice(0, colon), target.slice(colon + 1)]
    : [target, undefined];
  const abs = resolve(ctx.cwd, filePart);
  const rel = relative(ctx.root, abs).split(sep).join("/");
  const inside = rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  const projectPath = inside ? rel : undefined;
  const defaultPipeline = (() => {
    const dir = relative(ctx.root, ctx.cwd).split(sep).join("/");
    return dir === "" ? "dvc.yaml" : `${dir}/dvc.yaml`;
  })();
  if (name !== undefined) {
    const found = stages.filter((s) => s.file === projectPath && s.name === name);
    if (found.length === 0) throw notFound(target, projectPath ?? filePart);
    return found;
  }
  if (projectPath !== undefined && (projectPath.endsWith(".dvc") || isPipeline(projectPath))) {
    const found = stages.filter((s) => s.file === projectPath);
    if (found.length > 0) return found;
    if (!(await exists(abs))) throw new InvalidArgumentError(`'${target}' does not exist`);
    return [];
  }
  if (ctx.recursive && projectPath !== undefined && (await isDirectory(abs))) {
    const prefix = projectPath === "" ? "" : `${projectPath}/`;
    return stages.filter((s) => s.file.startsWith(prefix));
  }
  if (projectPath !== undefined) {
    const byOut = stages.filter((s) =>
      s.outs.some((o) => o.path === projectPath || projectPath.startsWith(`${o.path}/`))
    );
    if (byOut.length > 0) return byOut;
  }
  const byName = stages.filter((s) => s.file === defaultPipeline && s.name === target);
  if (byName.length > 0) return byName;
  throw notFound(target, defaultPipeline);
}

function notFound(target: string, file: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `'${target}' does not exist as an output or a stage name in '${file}'`,
  );
}

function isPipeline(path: string): boolean {
  return path === "dvc.yaml" || path.endsWith("/dvc.yaml");
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false);
}

async function isDirectory(path: string): Promise<boolean> {
  return await stat(path).then((s) => s.isDirectory(), () => false);
}

/** The DVC root joined with a project path. */
export function absPath(root: string, path: string): string {
  return path === "" ? root : join(root, ...path.split("/"));
}
