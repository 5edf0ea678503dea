export * from "./redact.ts";
export * from "./pyrepr.ts";
export * from "./object_hasher.ts";
export * from "./shell.ts";
export * from "./percent.ts";
