/** Sizes and counts of the generated project. */
export interface SampleOptions {
  /** Files under `data_out/shards/` (besides the fixed special files). Default 8. */
  files?: number;
  /** Bytes of each shard. Default 64. */
  fileSize?: number;
  /** Bytes of `model.bin`. Default 54. */
  bigFile?: number;
  /** Experiments per baseline. Default 2. */
  experiments?: number;
  /** Give every commit the same `model.bin` (saves disk for big benchmarks). Default false. */
  sameBigFile?: boolean;
  /** Name experiments `exp-<n>` on both baselines (ambiguous names, as the fixture's `exp-a`). Default false: `b1-exp-<n>`, `b2-exp-<n>`. */
  sharedNames?: boolean;
}

/** One generated commit. */
export interface SampleCommit {
  sha: string;
  lr: string;
  /** Sorted object keys (`files/md5/…`) a push of this commit uploads to an empty remote. */
  objects: string[];
}

/** One generated experiment. */
export interface SampleExperiment extends SampleCommit {
  name: string;
  ref: string;
  baseline: string;
}

/** Where everything went and what it contains. */
export interface SampleInfo {
  root: string;
  repo: string;
  gitDir: string;
  originGit: string;
  dvcStore: string;
  cacheDir: string;
  /** B1 then B2 (`main`, `HEAD`). */
  baselines: SampleCommit[];
  experiments: SampleExperiment[];
  /** Objects in `.dvc/cache` and their total bytes. */
  cacheObjects: number;
  cacheBytes: number;
  options: Required<SampleOptions>;
}
