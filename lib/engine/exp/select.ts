import type { ExpRefAt } from "../../git/exp_refs.ts";
import { resolveExpNames, unresolvedNamesError } from "../../git/exp_refs.ts";
import { readHead } from "../../git/refs_read.ts";
import type { GitCache } from "../../git/revision.ts";
import { expandBaselines } from "./baselines.ts";

/** A selected experiment: its commit is known. */
export type SelectedExp = ExpRefAt & { readonly sha: string };

/** True for an experiment whose commit is known (refs listed from a repository always are). */
export function hasSha(exp: ExpRefAt): exp is SelectedExp {
  return exp.sha !== undefined;
}

/** How the user selected experiments (DVC's flags, spec §1.5). */
export interface ExpSelection {
  readonly names?: readonly string[];
  readonly allCommits?: boolean;
  readonly revs?: readonly string[];
  readonly num?: number;
}

/**
 * Picks experiments from `available` as `exp push` (mode "union": `-A` plus
 * names-or-revs) or `exp pull` (mode "exclusive": `-A`, else names, else
 * revs) do. Unresolved names — and full refs that `available` lacks, which
 * DVC only discovers half-way — throw DVC's error before any transfer.
 * Deduplicated by ref, in a stable order (selection order, then by ref).
 * Every returned experiment has its `sha`.
 */
export async function selectExperiments(
  gitdir: string,
  available: readonly ExpRefAt[],
  selection: ExpSelection,
  mode: "union" | "exclusive",
  cache: GitCache = {},
): Promise<SelectedExp[]> {
  const picked = new Map<string, SelectedExp>();
  const add = (exp: ExpRefAt) => {
    if (hasSha(exp) && !picked.has(exp.ref)) picked.set(exp.ref, exp);
  };
  const names = selection.names ?? [];
  if (selection.allCommits) {
    [...available].sort((a, b) => compare(a.ref, b.ref)).forEach(add);
    if (mode === "exclusive") return [...picked.values()];
  }
  if (names.length > 0) {
    const head = (await readHead(gitdir)).oid;
    // Unknown names are not in `found`; full refs always are, without a sha when absent.
    const { found } = resolveExpNames(names, available, head);
    const missing = names.filter((name) => found.get(name)?.sha === undefined);
    if (missing.length > 0) throw unresolvedNamesError([...new Set(missing)]);
    for (const name of names) add(found.get(name)!);
  } else if (!selection.allCommits) {
    const baselines = await expandBaselines(
      gitdir,
      selection.revs ?? [],
      selection.num ?? 1,
      cache,
    );
    for (const baseline of baselines) {
      available.filter((exp) => exp.baseline === baseline).sort((a, b) => compare(a.name, b.name))
        .forEach(add);
    }
  }
  return [...picked.values()];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
