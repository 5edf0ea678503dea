export * from "./dxp_error.ts";
export * from "./exit_codes.ts";
