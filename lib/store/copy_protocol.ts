import type { CopySide } from "./fd_copy.ts";

/**
 * One copy for the copying thread: the source file, the (existing, empty)
 * file to fill, and a stop flag. Paths, not descriptors: not every runtime
 * shares descriptor numbers between its threads (one of ours keeps a
 * resource table per thread).
 */
export interface CopyJob {
  readonly source: string;
  readonly target: string;
  /** An Int32Array's buffer: its first element set non-zero asks the copy to stop. */
  readonly stop: SharedArrayBuffer;
}

/** What the copying thread says about the job it runs: progress, then exactly one end. */
export type CopyReply =
  | { readonly kind: "bytes"; readonly bytes: number }
  | { readonly kind: "done"; readonly digest: string; readonly bytes: number }
  | { readonly kind: "stopped" }
  | {
    readonly kind: "failed";
    readonly side: CopySide;
    readonly code: string | undefined;
    readonly message: string;
  };
