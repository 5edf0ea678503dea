/** Progress of the data half, for the CLI's progress display. */
export interface DataProgress {
  readonly phase: "collecting" | "checking" | "uploading" | "downloading";
  readonly doneObjects: number;
  readonly totalObjects: number;
  readonly doneBytes: number;
  readonly totalBytes: number;
}

export type DataProgressSink = (progress: DataProgress) => void;
