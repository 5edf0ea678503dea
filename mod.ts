/**
 * dxp as a library: everything the CLI can do.
 *
 * @example
 * ```ts
 * import { parseExpRef } from "./mod.ts";
 * parseExpRef("refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b").name; // "exp-b"
 * ```
 * @module
 */
export * from "./lib/core/mod.ts";
export * from "./lib/errors/mod.ts";
