import type { LinkFs } from "../../cache/link.ts";
import type { LinkType } from "../../cache/link_types.ts";
import type { ProjectTree } from "../../dvc/tree.ts";

/** Options of `checkout()`. */
export interface CheckoutOptions {
  /**
   * Limit to these outputs: paths of outputs or of files inside directory
   * outputs, folders holding outputs, `.dvc` files, `dvc.yaml` files,
   * `dvc.yaml:stage` or stage names. Relative to `cwd`.
   */
  readonly targets?: readonly string[];
  /** Folder targets and printed paths are relative to; default the project root. */
  readonly cwd?: string;
  /** Overwrite or remove workspace files whose content is not in the cache. */
  readonly force?: boolean;
  /** Recreate every file (links or copies) even when its content is right. */
  readonly relink?: boolean;
  /**
   * Outputs marked `push: false` whose objects are not in the cache are
   * skipped (listed in `skipped`) instead of failing: nobody could have
   * pushed them, so a fresh clone can never have them.
   */
  readonly skipUnpushable?: boolean;
  /** Collect the outputs from this tree instead of the workspace's stage files. */
  readonly revTree?: ProjectTree;
  /** Files written at once (default 16). */
  readonly jobs?: number;
  readonly signal?: AbortSignal;
  /** Called as files are written. */
  readonly onProgress?: (done: number, total: number) => void;
  /** File operations of the linker (fault injection in tests). */
  readonly linkFs?: Partial<LinkFs>;
}

/** What `checkout()` did. Paths are relative to `cwd`; folders end in `/`. */
export interface CheckoutResult {
  /** Outputs that were not in the workspace and now are. */
  readonly added: string[];
  /** Outputs whose content changed. */
  readonly modified: string[];
  /** Outputs no stage declares any more, removed. */
  readonly deleted: string[];
  /** Outputs that could not be checked out: objects missing from the cache. */
  readonly failed: string[];
  /** `push: false` outputs missing from the cache, left alone (with `skipUnpushable`). */
  readonly skipped: string[];
  /** Files written, by the link type that made them. */
  readonly linked: Record<LinkType, number>;
  /** How many of them the helper thread of a big new directory output made. */
  readonly helperFiles: number;
  /** Files of big directory outputs in the workspace the helper thread looked up (lstat). */
  readonly helperLookups: number;
}
