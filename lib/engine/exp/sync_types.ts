/** Per-experiment outcome of `exp push` / `exp pull` (DVC's SyncStatus plus ours). */
export type ExpSyncStatus =
  /** Created or updated (DVC: SUCCESS). */
  | "success"
  /** Both sides already equal (DVC: UP_TO_DATE). */
  | "up_to_date"
  /** Not a fast-forward and no --force: left alone (DVC: DIVERGED). */
  | "diverged"
  /** The Git remote refused the update (hook, permissions): dxp only. */
  | "rejected"
  /** Its data could not be completed on the DVC remote, so its ref was not pushed: dxp only. */
  | "data_incomplete";

export interface ExpSyncEntry {
  readonly ref: string;
  readonly name: string;
  readonly baseline: string;
  /** The commit the experiment has on the side we read from. */
  readonly sha: string;
  /** What the side we write to had before (undefined: absent). */
  readonly previousSha: string | undefined;
  status: ExpSyncStatus;
  /** True when a diverged ref was overwritten because of --force. */
  forced: boolean;
  reason?: string;
}

/**
 * Why an experiment's data is not complete: an object is missing (from the
 * local cache on push, from the remote on pull), a transfer failed (a rerun
 * can finish it), or its DVC files cannot be read (`detail` names the file).
 */
export type ExpDataProblem =
  | { readonly kind: "missing" }
  | { readonly kind: "failed" }
  | { readonly kind: "unreadable"; readonly detail: string };

/** Counts and notes of the data (DVC remote) half of a push or pull. */
export interface ExpDataReport {
  /** Objects transferred (DVC's "N files uploaded"/"fetched"). */
  readonly transferred: number;
  /** Objects that were missing (locally for push, on the remote for pull), by hash. */
  readonly missing: readonly { hash: string; scheme: string }[];
  /** Objects that failed to transfer after retries. */
  readonly failed: number;
  /** Lines to show as warnings. */
  readonly warnings: readonly string[];
  /** Refs whose every object is where it should be (on the remote after push, in the cache after pull). */
  readonly complete: ReadonlySet<string>;
  /** The other refs, and why. */
  readonly incomplete: ReadonlyMap<string, ExpDataProblem>;
}

/**
 * The data half, injected into the Git engines: moves the DVC objects of
 * the given experiments and says which experiments are complete.
 */
export interface ExpDataSync {
  /**
   * Uploads the objects of `exps`; `onMoving` is told when objects start to
   * move (see DataRuntime.onMoving), possibly more than once.
   */
  push(
    exps: readonly ExpSyncEntry[],
    signal?: AbortSignal,
    onMoving?: () => void,
  ): Promise<ExpDataReport>;
  /** Downloads the objects of `exps` into the local cache. */
  pull(exps: readonly ExpSyncEntry[], signal?: AbortSignal): Promise<ExpDataReport>;
  /** Releases the stores (ssh processes, sockets). */
  close(): Promise<void>;
}

export interface ExpSyncResult {
  readonly entries: readonly ExpSyncEntry[];
  /** The Git remote as the user typed it (DVC prints it quoted). */
  readonly remote: string;
  /** null when the data half did not run (--no-cache, dry run). */
  readonly data: ExpDataReport | null;
  readonly dryRun: boolean;
}
