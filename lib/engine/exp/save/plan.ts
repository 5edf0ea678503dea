import { readFile } from "node:fs/promises";
import { DxpError, ExitCode } from "../../../errors/mod.ts";
import { type HashedItem, lockEntry, type ParamsValues } from "../../../dvc/lock_entry.ts";
import { ParamsFileError, paramValues, readParamsText } from "../../../dvc/params_values.ts";
import type { PyDict } from "../../../dvc/py_value.ts";
import { joinInside } from "../../../dvc/safe_path.ts";
import type { HashScheme } from "../../../util/object_hasher.ts";
import type { ItemDigest, WorkspaceHasher } from "./hash_items.ts";
import type { SaveItem, SaveOut, SaveStage } from "./stages.ts";
import { absPath } from "./targets.ts";

/** A dependency or output with what it holds now and the scheme it is recorded in. */
export interface Planned<T extends SaveItem> {
  readonly item: T;
  readonly digest: ItemDigest;
  /** `md5`, or `md5-dos2unix` for a DVC 2.x entry whose content did not change. */
  readonly scheme: HashScheme;
}

/** What saving one stage records. */
export interface StagePlan {
  readonly stage: SaveStage;
  readonly deps: Planned<SaveItem>[];
  readonly params: ParamsValues[];
  readonly outs: (Planned<SaveOut> & { readonly out: SaveOut })[];
  /** The stage's new `dvc.lock` entry (pipeline stages). */
  readonly lockEntry?: PyDict;
  /** DVC records this stage in the run cache (`_can_hash`). */
  readonly runCacheable: boolean;
}

/** What planning needs. */
export interface PlanContext {
  readonly root: string;
  readonly hasher: WorkspaceHasher;
  readonly show: (path: string) => string;
}

/**
 * Hashes the dependencies, params and outputs of each stage in DVC's order
 * (`stage.save`: deps, params, outs) and builds its new lock entry. A
 * missing dependency or output stops with DVC's message; DVC 2.x entries
 * stay in the old scheme unless their content changed (`Output.save`).
 */
export async function planStages(
  stages: readonly SaveStage[],
  ctx: PlanContext,
): Promise<StagePlan[]> {
  const paramsTexts = new Map<string, Promise<PyDict | undefined>>();
  const plans: StagePlan[] = [];
  for (const stage of stages) {
    const deps: Planned<SaveItem>[] = [];
    for (const dep of stage.deps) deps.push(await planItem(dep, "dependency", ctx));
    const params: ParamsValues[] = [];
    for (const decl of stage.params) {
      const path = joinInside(stage.wdir, decl.file, "params file");
      let config = paramsTexts.get(path);
      if (config === undefined) {
        config = readFile(absPath(ctx.root, path), "utf8").then(
          (text) => readParamsText(text, ctx.show(path)),
          (error) => {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === "ENOENT" || code === "ENOTDIR") return undefined;
            throw error;
          },
        );
        paramsTexts.set(path, config);
      }
      const values = await config.catch(paramsProblem);
      if (values === undefined) throw doesNotExist("dependency", ctx.show(path));
      params.push({
        defPath: decl.file,
        values: (() => {
          try {
            return paramValues(values, decl.keys, ctx.show(path));
          } catch (error) {
            return paramsProblem(error);
          }
        })(),
      });
    }
    const outs: StagePlan["outs"] = [];
    for (const out of stage.outs) {
      const planned = await planItem(out, "output", ctx);
      outs.push({ ...planned, out });
    }
    let entry: PyDict | undefined;
    if (stage.kind === "pipeline") {
      entry = lockEntry({
        cmd: stage.cmd ?? null,
        deps: deps.map(hashedItem),
        params,
        outs: outs.map(hashedItem),
      });
    }
    const runCacheable = stage.kind === "pipeline" && !stage.alwaysChanged &&
      (deps.length > 0 || params.length > 0) && outs.length > 0 &&
      params.every((p) => p.values.size > 0) && outs.every((o) => !o.out.persist);
    plans.push({
      stage,
      deps,
      params,
      outs,
      ...(entry !== undefined ? { lockEntry: entry } : {}),
      runCacheable,
    });
  }
  return plans;
}

async function planItem<T extends SaveItem>(
  item: T,
  what: "dependency" | "output",
  ctx: PlanContext,
): Promise<Planned<T>> {
  let scheme = item.scheme;
  let digest = await ctx.hasher.digest(item.path, scheme, what);
  if (digest === undefined) throw doesNotExist(what, ctx.show(item.path));
  // DVC keeps a 2.x entry as it is while its content is unchanged (`update_legacy_hash_name`).
  if (scheme === "md5-dos2unix" && digest.oid !== item.recorded) {
    scheme = "md5";
    digest = await ctx.hasher.digest(item.path, scheme, what);
    if (digest === undefined) throw doesNotExist(what, ctx.show(item.path));
  }
  return { item, digest, scheme };
}

/** The lock-file view of a planned item. */
export function hashedItem(planned: Planned<SaveItem>): HashedItem {
  const { digest, scheme } = planned;
  return {
    defPath: planned.item.defPath,
    scheme,
    md5: digest.oid,
    size: digest.size,
    ...(digest.kind === "dir" ? { nfiles: digest.nfiles } : {}),
    ...(digest.isexec ? { isexec: true } : {}),
  };
}

function doesNotExist(what: string, shown: string): DxpError {
  return new DxpError(
    what === "output" ? "OutputDoesNotExist" : "DependencyDoesNotExist",
    `${what} '${shown}' does not exist`,
    ExitCode.failure,
  );
}

function paramsProblem(error: unknown): never {
  if (error instanceof ParamsFileError) {
    throw new DxpError("BadParams", error.message, ExitCode.failure);
  }
  throw error;
}
