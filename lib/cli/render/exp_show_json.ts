import type { ValuesFile } from "../../dvc/metrics_params.ts";
import type { ExpShowResult, ExpShowRev } from "../../engine/exp/show.ts";
import { isoWithOffset } from "./exp_show_text.ts";

/**
 * `exp show --json`, shaped like DVC's (a list of states: the workspace, then
 * each baseline with `experiments: [{name, revs: [state]}]`), with only the
 * fields dxp fills:
 *
 * ```json
 * [{"rev": "workspace", "name": null, "error": null, "experiments": null,
 *   "data": {"rev": "workspace", "timestamp": null,
 *            "params": {"params.yaml": {"data": {"lr": 0.1}}},
 *            "metrics": {"metrics.json": {"data": {"acc": 0.8}}}}},
 *  {"rev": "<40-hex>", "name": "main", "error": null, "data": {…},
 *   "experiments": [{"name": "exp-a", "ref": "refs/exps/…/exp-a", "executor": null,
 *                    "revs": [{"rev": "<40-hex>", "name": "exp-a", "data": {…},
 *                              "error": null, "experiments": null}]}]}]
 * ```
 *
 * `timestamp` is ISO 8601 with the UTC offset; a file that could not be
 * parsed is `{"error": {"msg": …, "type": "ParseError"}}`; a revision whose
 * values could not all be read has `"error": {"msg": …, "type": "ReadError"}`.
 * `--sort-by`, `--only-changed`, `--drop`/`--keep` do not apply (as DVC).
 */
export function renderExpShowJson(result: ExpShowResult): string {
  const states = [state(result.workspace, null, null)];
  for (const baseline of result.baselines) {
    const experiments = baseline.experiments.map((exp) => ({
      name: exp.name,
      ref: exp.ref,
      executor: null,
      revs: [state(exp, exp.name, null)],
    }));
    states.push(state(baseline, baseline.name, experiments.length > 0 ? experiments : null));
  }
  return `${JSON.stringify(states, null, 2)}\n`;
}

function state(rev: ExpShowRev, name: string | null, experiments: unknown[] | null) {
  return {
    rev: rev.rev,
    name,
    data: {
      rev: rev.rev,
      timestamp: rev.timestamp === null ? null : isoWithOffset(rev.timestamp),
      params: files(rev.params),
      metrics: files(rev.metrics),
    },
    error: rev.errors.length === 0 ? null : { msg: rev.errors.join("; "), type: "ReadError" },
    experiments,
  };
}

function files(values: ReadonlyMap<string, ValuesFile>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [file, value] of values) {
    out[file] = "data" in value
      ? { data: value.data }
      : { error: { msg: value.error, type: "ParseError" } };
  }
  return out;
}
