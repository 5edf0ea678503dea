/**
 * dxp as a library: everything the CLI can do, without printing or exiting.
 *
 * @example
 * ```ts
 * import { expList, openProject, transportFor } from "./mod.ts";
 * const project = openProject(".", process.env);
 * const entries = await expList(project, { gitRemote: "origin", openTransport: transportFor(project) });
 * ```
 * @module
 */
export * from "./lib/core/mod.ts";
export * from "./lib/errors/mod.ts";
export { openProject, type Project } from "./lib/project/project.ts";
export { findProject } from "./lib/project/find_project.ts";
export { acquireRepoLock } from "./lib/project/repo_lock.ts";
export { resolveGitRemote } from "./lib/project/git_remote.ts";
export * from "./lib/project/dvc_config/mod.ts";
export * from "./lib/engine/remote.ts";
export { expList, type ExpListEntry } from "./lib/engine/exp/list.ts";
export { expPush } from "./lib/engine/exp/push.ts";
export { expPull } from "./lib/engine/exp/pull.ts";
export { expRemove } from "./lib/engine/exp/remove.ts";
export { expSave, type ExpSaveOptions, type ExpSaveResult } from "./lib/engine/exp/save/save.ts";
export { expExport, type ExpExportOptions, type ExpExportResult } from "./lib/engine/exp/export.ts";
export { expImport, type ExpImportOptions } from "./lib/engine/exp/import.ts";
export { expHave } from "./lib/engine/exp/have.ts";
export { createExpDataSync } from "./lib/engine/exp/data.ts";
export { dataFetch, dataPush } from "./lib/engine/data/sync.ts";
export { cloudStatus } from "./lib/engine/data/status.ts";
export type * from "./lib/engine/exp/sync_types.ts";
export { openTransport } from "./lib/git/transport/registry.ts";
export type * from "./lib/git/transport/types.ts";
export { openStore } from "./lib/store/registry.ts";
export type * from "./lib/store/types.ts";
export * from "./lib/dvc/mod.ts";
export { gitCommitTree } from "./lib/git/tree_reader.ts";
export { transportFor } from "./lib/engine/exp/transport_for.ts";
