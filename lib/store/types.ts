import type { HashScheme } from "../util/object_hasher.ts";

/**
 * One interface for DVC remote storage (local folder, S3, HTTP, SSH/SFTP).
 *
 * Keys are relative to the remote root, `/`-separated, exactly the DVC layout:
 * `files/md5/ab/cdef…`, `ab/cdef…` (legacy), `runs/…`. A store never exposes a
 * partial object: an upload or download either completes with the expected
 * hash or leaves nothing under the final name.
 */
export interface Store {
  /** The remote as shown to users (secrets removed). */
  readonly displayUrl: string;
  /** Whether `list` is cheap enough to use for existence checks (false for HTTP). */
  readonly canList: boolean;

  /** True when an object exists at `key`. */
  exists(key: string, signal?: AbortSignal): Promise<boolean>;

  /** Every key under `prefix` (a folder-like prefix such as `files/md5/ab/`), in any order. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<string>;

  /**
   * Uploads the local file at `localPath` to `key`. The bytes are hashed as
   * they are read; when `expect` is given and the hash differs, nothing is
   * stored and a CorruptError is thrown.
   */
  put(key: string, localPath: string, options: TransferOptions): Promise<void>;

  /**
   * Downloads `key` into `localPath` atomically (temp file in the same folder,
   * then rename). When `expect` is given the bytes are verified before the
   * rename; on mismatch nothing is left behind and a CorruptError is thrown.
   */
  get(key: string, localPath: string, options: TransferOptions): Promise<void>;

  /** Removes `key` (no error when absent). */
  delete(key: string, signal?: AbortSignal): Promise<void>;

  /** Releases connections/processes. */
  close(): Promise<void>;

  /**
   * Present on stores whose files are on this machine: small objects read and
   * written synchronously. A dataset of many small files costs more in
   * promises and wrappers than in system calls; the engine moves those with
   * this and leaves everything else (large files, files to re-hash,
   * transient errors) to the calls above.
   */
  readonly small?: SmallObjects;
}

/** Synchronous access to the small objects of a store on this machine (see {@link Store.small}). */
export interface SmallObjects {
  /**
   * Whether object `key` is there, when one look tells (a missing folder, a
   * 0444 file, no file); undefined when {@link Store.exists} must decide (a
   * file to re-hash).
   */
  existsSync(key: string): boolean | undefined;
  /**
   * The bytes of object `key` when it is a file of at most SMALL_FILE bytes,
   * undefined when it is larger (stream it with `get`). Valid only until the
   * next call. A missing object throws a not-found StoreError.
   */
  readSync(key: string, size?: number): Uint8Array | undefined;
  /**
   * Stores `bytes` as object `key` (0444, temp file and rename), after
   * checking them against `expect`: a mismatch writes nothing and throws a
   * CorruptError. A protected object already there is left alone.
   */
  writeSync(key: string, bytes: Uint8Array, options: SmallWriteRequest): void;
  /**
   * Makes every object written by writeSync visible (they may wait in a
   * hidden folder until then). Call when the writes are over, failed or not,
   * and before anything that relies on them (a `.dir`, a checkout).
   */
  publish(): void;
}

/** What {@link SmallObjects.writeSync} checks the bytes against. */
export interface SmallWriteRequest {
  readonly expect: { readonly hash: string; readonly scheme: HashScheme };
  /** Where the bytes come from, for the corruption message. */
  readonly sourceLabel: string;
  /** The local file they were read from, for other failures ("upload FILE to …"). */
  readonly from?: string;
}

export interface TransferOptions {
  /** Expected content hash and its scheme; verification is skipped when absent. */
  readonly expect?: { readonly hash: string; readonly scheme: HashScheme };
  /** Size in bytes when known (lets S3 pick single PUT vs multipart). */
  readonly size?: number;
  readonly signal?: AbortSignal;
  /** Called with each number of bytes moved, for progress. */
  readonly onBytes?: (bytes: number) => void;
}

/** What a store factory gets besides the remote's URL and options. */
export interface StoreContext {
  /** Environment (AWS_*, SSL_CERT_FILE, DXP_SSH_COMMAND, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Receives `-v` debug lines (already free of secrets). */
  readonly onDebug?: (line: string) => void;
}

/**
 * Builds a store from a DVC remote section: `url` plus the section's other
 * options as strings (`endpointurl`, `region`, `access_key_id`, …). Relative
 * local paths are already resolved by the config layer.
 */
export type StoreFactory = (
  url: string,
  options: Readonly<Record<string, string>>,
  context: StoreContext,
) => Store;
