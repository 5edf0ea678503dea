import process from "node:process";

/**
 * A Node built-in module loaded the first time it is used. A static import
 * of a built-in is loaded when the binary starts, whatever the command:
 * zlib, http, https, tls and net together cost ~5 ms of every start-up
 * (measured on a compiled binary that only imports them), and only the Git
 * transports, packs and logins need them.
 *
 * @example
 * const zlib = lazyBuiltin<typeof import("node:zlib")>("node:zlib");
 * zlib().inflateSync(bytes);
 */
export function lazyBuiltin<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= getBuiltinModule(id) as T);
}

const getBuiltinModule = (process as unknown as { getBuiltinModule(id: string): unknown })
  .getBuiltinModule;
