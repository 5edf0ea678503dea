import type { Store } from "../store/types.ts";
import type { HashScheme } from "../util/object_hasher.ts";

/** One object to move between the local disk and a store. */
export interface TransferItem {
  /** Key in the store (`files/md5/ab/cdef…`). Items are deduplicated by direction and key. */
  readonly key: string;
  /** Local file: the source of an upload, the destination of a download. */
  readonly localPath: string;
  /** Size in bytes (largest items start first; progress totals). */
  readonly size: number;
  /** Verify the bytes against this hash while they stream. */
  readonly expect?: { readonly hash: string; readonly scheme: HashScheme };
  readonly direction: "upload" | "download";
  /** Caller's label carried into the report (e.g. the experiment ref), so failures can be attributed. */
  readonly group?: string;
  /**
   * Keys (same direction) that must succeed first: a `.dir` manifest after its
   * members. When one of them fails or is skipped, this item is skipped.
   * Keys not in this batch count as already satisfied.
   */
  readonly after?: readonly string[];
}

/** Progress of a transfer; bytes may step back when a retried transfer restarts. */
export interface TransferProgress {
  readonly doneObjects: number;
  readonly failedObjects: number;
  readonly totalObjects: number;
  readonly doneBytes: number;
  readonly totalBytes: number;
  /** The item this event is about (moving bytes or just finished). */
  readonly current?: TransferItem;
}

export interface TransferQueueOptions {
  /** The remote store (wrapped with retries, see composeStore). */
  readonly store: Store;
  /** Parallel transfers (default 4 × CPU count, as DVC). */
  readonly jobs?: number;
  /**
   * Run the smallest item alone first, so a wrong credential costs one
   * failing request instead of `jobs` of them.
   */
  readonly authGate?: boolean;
  /** Cancels everything: in-flight transfers are aborted (stores remove their temp files). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TransferProgress) => void;
  /** Called before each download (e.g. LocalCache.beforeDownload: cache folder modes). */
  readonly beforeDownload?: (item: TransferItem) => Promise<void>;
  /** Called after each verified download (e.g. LocalCache.afterDownload: protect 0444). */
  readonly afterDownload?: (item: TransferItem) => Promise<void>;
}

/** What happened to every item given to transfer() (duplicates included). */
export interface TransferReport {
  readonly done: TransferItem[];
  readonly failed: { item: TransferItem; error: Error }[];
  readonly skipped: { item: TransferItem; reason: string }[];
  /** The error that stopped the queue early (auth, config, full or read-only store, interruption). */
  readonly stoppedBy?: Error;
  /** True when the caller's signal cancelled the transfer. */
  readonly interrupted: boolean;
}
