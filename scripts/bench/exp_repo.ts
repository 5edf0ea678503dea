/**
 * A minimal DVC project (a `.dvc/` folder with an empty `config`) with N
 * experiment refs on one baseline, made with one `git fast-import` run, and
 * two bare remotes: one with `main` only, one with `main` and every
 * experiment. Each experiment is one small commit on the baseline.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { commitExps, commitFiles, expRef, initRepo } from "../../tests/helpers/git_repo.ts";

export interface ExpRepo {
  /** The working repository (a DVC project) holding every experiment ref. */
  repo: string;
  baseline: string;
  names: string[];
  refs: string[];
  /** Bare repository with `main` only (the remote before a push). */
  bareMain: string;
  /** Bare repository with `main` and all experiment refs (the remote before a pull). */
  bareAll: string;
}

/** Builds the project under `dir` with `count` experiments named `exp-0001`…. */
export function buildExpRepo(dir: string, count: number): ExpRepo {
  const repo = initRepo(join(dir, "repo"));
  const baseline = commitFiles(
    repo,
    {
      ".dvc/config": "",
      ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
      "params.yaml": "lr: 0.1\n",
    },
    "baseline",
  );
  const names = Array.from({ length: count }, (_, i) => `exp-${String(i + 1).padStart(4, "0")}`);
  commitExps(
    repo,
    baseline,
    names.map((name, i) => ({
      name,
      files: { "params.yaml": `lr: ${(i + 1) / 1000}\n`, "metrics.json": `{"step": ${i}}\n` },
    })),
  );
  const bareMain = join(dir, "bare-main.git");
  const bareAll = join(dir, "bare-all.git");
  execFileSync("git", ["clone", "-q", "--bare", repo, bareMain]);
  execFileSync("git", ["clone", "-q", "--mirror", repo, bareAll]);
  return { repo, baseline, names, refs: names.map((n) => expRef(baseline, n)), bareMain, bareAll };
}
