import { ExitCode } from "./exit_codes.ts";

/** Options shared by every dxp error. */
export interface DxpErrorOptions {
  cause?: unknown;
  data?: Record<string, unknown>;
}

/**
 * Base class of every error dxp raises on purpose. `code` is a stable literal
 * that callers (and tests) can switch on; `exitCode` is what the CLI exits with;
 * the message is one sentence that says what failed and what to do.
 */
export class DxpError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly data: Record<string, unknown>;

  constructor(code: string, message: string, exitCode: ExitCode, options: DxpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.data = options.data ?? {};
  }
}

/** A bad argument or flag combination (DVC's "invalid argument", exit 255). */
export class InvalidArgumentError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("InvalidArgument", message, ExitCode.failure, options);
  }
}

/** Command-line syntax the parser could not accept (exit 254). */
export class UsageError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("Usage", message, ExitCode.usage, options);
  }
}

/** Configuration that cannot be read or is invalid (exit 251). */
export class ConfigError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("Config", message, ExitCode.config, options);
  }
}

/** The working directory is not inside a DVC repository (exit 253). */
export class NotADvcRepoError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("NotADvcRepo", message, ExitCode.notARepo, options);
  }
}

/** The user interrupted the command (exit 252). */
export class InterruptedError extends DxpError {
  constructor(message = "interrupted by the user", options?: DxpErrorOptions) {
    super("Interrupted", message, ExitCode.interrupted, options);
  }
}

/** Talking to a Git remote failed (unreachable, refused, not a repository…). */
export class GitRemoteError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("GitRemote", message, ExitCode.failure, options);
  }
}

/** Authentication to a remote failed. */
export class AuthError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("Auth", message, ExitCode.failure, options);
  }
}

/** The repository lock is held by another process. */
export class LockError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("Lock", message, ExitCode.failure, options);
  }
}

/** A local repository object or file is malformed. */
export class CorruptError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("Corrupt", message, ExitCode.failure, options);
  }
}

/** Some transfers failed; the rest completed (exit 1). */
export class PartialTransferError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("PartialTransfer", message, ExitCode.partial, options);
  }
}

/** Storage (DVC remote) error: permanent unless `transient` is set. */
export class StoreError extends DxpError {
  readonly transient: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: DxpErrorOptions & { transient?: boolean; retryAfterMs?: number } = {},
  ) {
    super("Store", message, ExitCode.failure, options);
    this.transient = options.transient ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** An unsafe path from a remote-controlled file (manifest, .dvc, dvc.lock). */
export class UnsafePathError extends DxpError {
  constructor(message: string, options?: DxpErrorOptions) {
    super("UnsafePath", message, ExitCode.failure, options);
  }
}
