import { type ExpRef, expRefsOf, parseExpRef } from "../core/mod.ts";
import { InvalidArgumentError } from "../errors/mod.ts";
import { readRefs } from "./refs_read.ts";

/** An experiment ref together with the commit it points at. */
export interface ExpRefAt extends ExpRef {
  /** Commit SHA of the experiment, when known. */
  readonly sha: string | undefined;
}

/** Experiment refs of a ref map (local refs or a remote advertisement), internal refs skipped. */
export function expRefsIn(refs: ReadonlyMap<string, string>): ExpRefAt[] {
  return expRefsOf(refs.keys()).map((exp) => ({ ...exp, sha: refs.get(exp.ref) }));
}

/** Every local experiment ref. */
export async function localExpRefs(gitdir: string): Promise<ExpRefAt[]> {
  return expRefsIn(await readRefs(gitdir, "refs/exps/"));
}

/** Result of resolving user arguments: found refs by argument, and what was not found. */
export interface NameResolution {
  readonly found: Map<string, ExpRefAt>;
  readonly unresolved: string[];
}

/**
 * DVC's `resolve_name` (spec §1.4): `refs/…` arguments are parsed without an
 * existence check; other arguments match experiment names; several matches
 * are settled by the local HEAD's SHA, else DVC's "Ambiguous name" error.
 */
export function resolveExpNames(
  args: readonly string[],
  available: readonly ExpRefAt[],
  headSha: string | undefined,
): NameResolution {
  const found = new Map<string, ExpRefAt>();
  const unresolved: string[] = [];
  const byRef = new Map(available.map((exp) => [exp.ref, exp]));
  for (const arg of args) {
    if (arg.startsWith("refs/")) {
      const parsed = parseExpRef(arg);
      found.set(arg, byRef.get(arg) ?? { ...parsed, sha: undefined });
      continue;
    }
    const matches = available.filter((exp) => exp.name === arg);
    if (matches.length === 0) {
      unresolved.push(arg);
    } else if (matches.length === 1) {
      found.set(arg, matches[0]!);
    } else {
      const onHead = matches.find((exp) => exp.baseline === headSha);
      if (onHead === undefined) {
        throw new InvalidArgumentError(
          `Ambiguous name '${arg}' refers to multiple experiments. Use one of the following full refnames instead:\n\n` +
            matches.map((exp) => `\t${exp.ref}`).join("\n"),
        );
      }
      found.set(arg, onHead);
    }
  }
  return { found, unresolved };
}

/** DVC's message for names that matched nothing (push, pull, local remove). */
export function unresolvedNamesError(names: readonly string[]): InvalidArgumentError {
  const data = { names: [...names] };
  return names.length === 1
    ? new InvalidArgumentError(`'${names[0]}' is not a valid experiment name`, { data })
    : new InvalidArgumentError(`'${names.join("; ")}' are not valid experiment names`, { data });
}
