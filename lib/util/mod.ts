export * from "./redact.ts";
export * from "./pyrepr.ts";
