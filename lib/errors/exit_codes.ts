/**
 * Process exit codes. DVC's values where DVC has one, so scripts written
 * against `dvc exp …` keep working against `dxp exp …`.
 */
export const ExitCode = {
  ok: 0,
  /** A transfer or check that did not fully succeed (DVC's data commands exit 1). */
  partial: 1,
  /** Configuration error (unreadable or invalid config, unknown remote). */
  config: 251,
  /** Interrupted by SIGINT/SIGTERM. */
  interrupted: 252,
  /** Not inside a DVC repository. */
  notARepo: 253,
  /** Command-line usage error. */
  usage: 254,
  /** Any other error. */
  failure: 255,
} as const;

export type ExitCode = typeof ExitCode[keyof typeof ExitCode];
