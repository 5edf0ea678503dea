export * from "./layout.ts";
export * from "./cache_has.ts";
export * from "./cache.ts";
export * from "./add.ts";
