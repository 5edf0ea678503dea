/**
 * The DVC text files of the sample project, written in DVC's exact style
 * (spec §3.4/§3.5: ruamel block style, `- ` at the parent's indentation,
 * `'2.0'` quoted, keys in DVC's order, trailing newline).
 */

/** A hashed file or directory entry of a lock file. */
export interface LockEntry {
  path: string;
  md5: string;
  size: number;
  nfiles?: number;
}

/** One `dvc.lock` stage. */
export interface LockStage {
  cmd: string;
  deps: LockEntry[];
  /** params file → key → already formatted YAML scalar. */
  params: Record<string, Record<string, string>>;
  outs: LockEntry[];
}

/** `dvc.lock` text for the given stages (3.x entries: `hash: md5`). */
export function lockFileText(stages: Record<string, LockStage>): string {
  let text = "schema: '2.0'\nstages:\n";
  for (const [name, stage] of Object.entries(stages)) {
    text += `  ${name}:\n    cmd: ${stage.cmd}\n`;
    if (stage.deps.length > 0) text += `    deps:\n${entries(stage.deps)}`;
    const files = Object.keys(stage.params).sort((a, b) =>
      a === "params.yaml" ? -1 : b === "params.yaml" ? 1 : a < b ? -1 : a > b ? 1 : 0
    );
    if (files.length > 0) {
      text += "    params:\n";
      for (const file of files) {
        text += `      ${file}:\n`;
        const values = stage.params[file]!;
        for (const key of Object.keys(values).sort()) text += `        ${key}: ${values[key]}\n`;
      }
    }
    if (stage.outs.length > 0) text += `    outs:\n${entries(stage.outs)}`;
  }
  return text;
}

function entries(list: LockEntry[]): string {
  return [...list]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((e) =>
      `    - path: ${e.path}\n      hash: md5\n      md5: ${e.md5}\n      size: ${e.size}\n` +
      (e.nfiles === undefined ? "" : `      nfiles: ${e.nfiles}\n`)
    )
    .join("");
}

/** A `.dvc` file as `dvc add` writes it (3.x). */
export function dvcFileText(entry: LockEntry): string {
  return `outs:\n- md5: ${entry.md5}\n  size: ${entry.size}\n` +
    (entry.nfiles === undefined ? "" : `  nfiles: ${entry.nfiles}\n`) +
    `  hash: md5\n  path: ${entry.path}\n`;
}

/** The project's `dvc.yaml`: the same stage shape as the basic fixture. */
export const DVC_YAML = `stages:
  train:
    cmd: python3 train.py
    deps:
    - train.py
    - data/raw.csv
    params:
    - lr
    - epochs
    outs:
    - model.bin
    - data_out
    - local_only.txt:
        push: false
    metrics:
    - metrics.json:
        cache: false
`;

/** `.dvcignore` as `dvc init` writes it. */
export const DVCIGNORE = `# Add patterns of files dvc should ignore, which could improve
# the performance. Learn more at
# https://dvc.org/doc/user-guide/dvcignore
`;

/** `.dvc/config` with the default local remote `store` (configobj quoting). */
export const DVC_CONFIG = `[core]
    remote = store
['remote "store"']
    url = ../../dvcstore
`;

/** `.dvc/config.local`: the same remote URL, resolved against the working copy. */
export const DVC_CONFIG_LOCAL = `['remote "store"']
    url = ../../dvcstore
`;

/** `.dvc/.gitignore` as `dvc init` writes it. */
export const DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n";

/** The root `.gitignore`: one `/<name>` line per cached output. */
export const ROOT_GITIGNORE = "/model.bin\n/data_out\n/local_only.txt\n";

/** `data/.gitignore` for the `dvc add`-ed `data/raw.csv`. */
export const DATA_GITIGNORE = "/raw.csv\n";

/** A stand-in training script (stdlib only); its bytes feed the lock's deps. */
export const TRAIN_PY = `"""Sample training stage generated for dxp tests and benchmarks.

The outputs of this project were written by the generator, not by running
this script; it exists so that dvc.yaml's dependency is a real file.
"""
import json

with open("params.yaml") as f:
    print(f.read())
print(json.dumps({"status": "ok"}))
`;
