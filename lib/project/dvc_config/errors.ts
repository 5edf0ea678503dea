import { ConfigError } from "../../errors/mod.ts";

/**
 * DVC prints every configuration problem as
 * `ERROR: configuration error - config file error: <what>` (exit 251). The CLI
 * adds `ERROR: `; the rest lives in the message so library callers see the
 * same text.
 */
export const CONFIG_ERROR_PREFIX = "configuration error - config file error: ";

/**
 * Builds the ConfigError for `what` (DVC's wording, without the prefix).
 * `file`, when known, goes into the error's data (DVC's message does not name
 * it; `dxp -v` shows it).
 */
export function configError(
  what: string,
  options: { cause?: unknown; file?: string } = {},
): ConfigError {
  const data = options.file === undefined ? { what } : { what, file: options.file };
  return new ConfigError(
    `${CONFIG_ERROR_PREFIX}${what}`,
    options.cause === undefined ? { data } : { cause: options.cause, data },
  );
}
