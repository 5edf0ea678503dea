export * from "./types.ts";
export * from "./queue.ts";
export * from "./missing.ts";
