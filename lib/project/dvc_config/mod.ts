/**
 * DVC configuration: read the four config levels exactly as DVC does
 * (configobj's INI dialect, lower-cased keys, schema checks) and edit them
 * as DVC writes them while keeping every unrelated line byte-for-byte.
 *
 * @example
 * ```ts
 * import { loadDvcConfig } from "./mod.ts";
 * const config = await loadDvcConfig({ dvcDir: "/work/repo/.dvc", env: process.env });
 * config.coreRemote; // "store"
 * config.remote("store").url; // "/work/dvcstore"
 * ```
 * @module
 */
export * from "./config_data.ts";
export * from "./dvc_config.ts";
export * from "./edit.ts";
export * from "./errors.ts";
export * from "./find_dvc_dir.ts";
export * from "./ini_parse.ts";
export * from "./ini_quote.ts";
export * from "./ini_types.ts";
export * from "./ini_write.ts";
export * from "./levels.ts";
export * from "./load.ts";
export * from "./paths.ts";
export * from "./schema.ts";
