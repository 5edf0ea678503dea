import { ConfigError } from "../../errors/mod.ts";

/**
 * DVC prints every configuration problem as
 * `ERROR: configuration error - config file error: <what>` (exit 251). The CLI
 * adds `ERROR: `; the rest lives in the message so library callers see the
 * same text.
 */
export const CONFIG_ERROR_PREFIX = "configuration error - config file error: ";

/** Builds the ConfigError for `what` (DVC's wording, without the prefix). */
export function configError(what: string, cause?: unknown): ConfigError {
  return new ConfigError(
    `${CONFIG_ERROR_PREFIX}${what}`,
    cause === undefined ? { data: { what } } : { cause, data: { what } },
  );
}
