export * from "./exp_ref.ts";
