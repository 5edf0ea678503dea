import type { ExpRefAt } from "../../git/exp_refs.ts";
import { expRefsIn, localExpRefs } from "../../git/exp_refs.ts";
import { readHead } from "../../git/refs_read.ts";
import type { GitCache } from "../../git/revision.ts";
import type { Transport } from "../../git/transport/types.ts";
import type { Project } from "../../project/project.ts";
import { resolveGitRemote } from "../../project/git_remote.ts";
import { expandBaselines } from "./baselines.ts";
import { baselineLabeler } from "./baseline_labels.ts";

/** One listed experiment. */
export interface ExpListEntry {
  /** Full SHA of the baseline commit (from the ref path). */
  readonly baseline: string;
  /** How the baseline is shown: branch, tag or 7-char SHA (spec §1.6). */
  readonly label: string;
  readonly name: string;
  readonly ref: string;
  /** Experiment commit SHA (for remotes: as advertised). */
  readonly sha: string | null;
}

export interface ExpListOptions {
  /** List this Git remote's experiments instead of local ones. */
  readonly gitRemote?: string;
  readonly allCommits?: boolean;
  readonly revs?: readonly string[];
  readonly num?: number;
  /** Opens a transport for a URL (injected so tests can substitute). */
  readonly openTransport: (url: string) => Transport;
  readonly signal?: AbortSignal;
}

/**
 * `exp list`: local or remote experiments, filtered to the baselines of
 * `--rev`/`-n` unless `allCommits`. Order is deterministic: baselines in
 * `--rev` expansion order (with `-A`: HEAD's baseline first, then by label),
 * experiments by name within a baseline.
 */
export async function expList(project: Project, options: ExpListOptions): Promise<ExpListEntry[]> {
  const cache: GitCache = {};
  let exps: ExpRefAt[];
  if (options.gitRemote !== undefined) {
    const target = resolveGitRemote(options.gitRemote, project.gitConfig);
    const transport = options.openTransport(target.fetchUrl);
    const listOptions = options.signal
      ? { prefixes: ["refs/exps/"], signal: options.signal }
      : { prefixes: ["refs/exps/"] };
    const advertisement = await transport.listRefs(listOptions);
    exps = expRefsIn(advertisement.refs);
  } else {
    exps = await localExpRefs(project.gitDir);
  }
  const label = await baselineLabeler(project.gitDir, cache);
  let order: string[];
  if (options.allCommits) {
    const head = (await readHead(project.gitDir)).oid;
    const baselines = [...new Set(exps.map((exp) => exp.baseline))];
    const rank = (baseline: string) => (baseline === head ? 0 : 1);
    baselines.sort((a, b) => rank(a) - rank(b) || compare(label(a), label(b)) || compare(a, b));
    order = baselines;
  } else {
    order = await expandBaselines(project.gitDir, options.revs ?? [], options.num ?? 1, cache);
  }
  const entries: ExpListEntry[] = [];
  for (const baseline of order) {
    const group = exps.filter((exp) => exp.baseline === baseline).sort((a, b) =>
      compare(a.name, b.name)
    );
    for (const exp of group) {
      entries.push({
        baseline,
        label: label(baseline),
        name: exp.name,
        ref: exp.ref,
        sha: exp.sha ?? null,
      });
    }
  }
  return entries;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
