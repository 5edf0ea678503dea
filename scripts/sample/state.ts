import { pyFloatRepr } from "../../lib/dvc/interpolate.ts";
import { hashBytes } from "../../lib/util/object_hasher.ts";
import { allBytes, utf8 } from "./content.ts";
import * as files from "./dvc_files.ts";
import type { GitFile } from "./git_writer.ts";

/** What one commit of the sample project contains (baseline or experiment). */
export interface State {
  tag: string;
  lr: string;
  rows: number;
  /** Shard index → tag of the state whose content it has. */
  shardTag: (i: number) => string;
  /** Seed of model.bin. */
  modelSeed: string;
}

/** Hashed outputs of the train stage, as recorded in `dvc.lock`. */
export interface TrainOuts {
  dataOut: files.LockEntry;
  localOnly: files.LockEntry;
  model: files.LockEntry;
}

/** The Git-tracked files of a commit (same names as the basic fixture). */
export function trackedFiles(
  state: State,
  rawEntry: files.LockEntry,
  outs: TrainOuts,
): Map<string, GitFile> {
  const metrics = metricsJson(state);
  const trainPy = utf8(files.TRAIN_PY);
  const lock = files.lockFileText({
    train: {
      cmd: "python3 train.py",
      deps: [rawEntry, { path: "train.py", md5: hashBytes(trainPy), size: trainPy.length }],
      params: { "params.yaml": { epochs: "3", lr: state.lr } },
      outs: [
        outs.dataOut,
        outs.localOnly,
        { path: "metrics.json", md5: hashBytes(metrics), size: metrics.length },
        outs.model,
      ],
    },
  });
  return new Map<string, GitFile>([
    [".dvc/.gitignore", { content: utf8(files.DVC_GITIGNORE) }],
    [".dvc/config", { content: utf8(files.DVC_CONFIG) }],
    [".dvcignore", { content: utf8(files.DVCIGNORE) }],
    [".gitignore", { content: utf8(files.ROOT_GITIGNORE) }],
    ["data/.gitignore", { content: utf8(files.DATA_GITIGNORE) }],
    ["data/raw.csv.dvc", { content: utf8(files.dvcFileText({ ...rawEntry, path: "raw.csv" })) }],
    ["dvc.lock", { content: utf8(lock) }],
    ["dvc.yaml", { content: utf8(files.DVC_YAML) }],
    ["metrics.json", { content: metrics }],
    ["params.yaml", { content: utf8(`lr: ${state.lr}\nepochs: 3\n`) }],
    ["train.py", { content: trainPy }],
  ]);
}

/** Paths of {@link trackedFiles}, for the index of the work tree. */
export const trackedPaths = [
  ".dvc/.gitignore",
  ".dvc/config",
  ".dvcignore",
  ".gitignore",
  "data/.gitignore",
  "data/raw.csv.dvc",
  "dvc.lock",
  "dvc.yaml",
  "metrics.json",
  "params.yaml",
  "train.py",
];

/** Fixed files of `data_out/` that exercise names, sizes and the `.dir` sort rule. */
export function specialFiles(state: State): [string, Uint8Array][] {
  return [
    ["README.txt", utf8("Sample directory output generated for dxp.\n")],
    ["summary.txt", utf8(`variant: ${state.tag}\nlr: ${state.lr}\nrows: ${state.rows}\n`)],
    ["empty.txt", new Uint8Array(0)],
    ["binary.dat", allBytes()],
    ["crlf.txt", utf8("line one\r\nline two\r\n")],
    ["with space.txt", utf8("a file name with a space\n")],
    ["résumé über-名前.txt", utf8("a non-ASCII file name\n")],
    ["nested-a.txt", utf8("sorts before nested/\n")],
    ["nested/level1.txt", utf8("level 1\n")],
    ["nested/deep/level2.txt", utf8("level 2\n")],
    ["nested/deep/deeper/level3.txt", utf8("level 3\n")],
    ["nested0.txt", utf8("sorts after nested/\n")],
  ];
}

function metricsJson(state: State): Uint8Array {
  const lr = Number(state.lr);
  const acc = Number((1 - 1 / (2 + lr * 10 * state.rows)).toFixed(6));
  const loss = Number((1 - acc).toFixed(6));
  return utf8(
    `{"acc": ${pyFloatRepr(acc)}, "loss": ${pyFloatRepr(loss)}, "rows": ${state.rows}}\n`,
  );
}
