export * from "./exp_ref.ts";
export * from "./object_key.ts";
