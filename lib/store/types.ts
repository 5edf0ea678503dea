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
