import { InvalidArgumentError } from "../errors/mod.ts";

/** The namespace every experiment ref lives in. */
export const EXPS_NAMESPACE = "refs/exps";

/** Internal refs under `refs/exps` that are never listed or transferred (spec §1.2). */
const INTERNAL_EXACT = new Set(["refs/exps/stash", "refs/exps/celery/stash"]);
const INTERNAL_PREFIXES = [
  "refs/exps/apply",
  "refs/exps/celery",
  "refs/exps/exec",
  "refs/exps/temp",
];

/** A completed experiment: `refs/exps/<B[0:2]>/<B[2:]>/<name>`. */
export interface ExpRef {
  /** Full ref name. */
  readonly ref: string;
  /** Baseline commit SHA as written in the ref path (normally 40 hex). */
  readonly baseline: string;
  /** Experiment name (last path component). */
  readonly name: string;
}

/** True for refs DVC skips when it enumerates experiments. */
export function isInternalExpRef(ref: string): boolean {
  if (INTERNAL_EXACT.has(ref)) return true;
  return INTERNAL_PREFIXES.some((prefix) => ref.startsWith(prefix));
}

/**
 * Parses a full experiment ref with DVC's rule (spec §1.1): 4 or 5 parts,
 * `refs`,`exps`, baseline = part 3 + part 4, name = part 5. Throws DVC's
 * "not a valid experiment refname" error otherwise.
 */
export function parseExpRef(ref: string): ExpRef {
  const parts = ref.split("/");
  if ((parts.length !== 4 && parts.length !== 5) || parts[0] !== "refs" || parts[1] !== "exps") {
    throw new InvalidArgumentError(`'${ref}' is not a valid experiment refname.`);
  }
  return { ref, baseline: `${parts[2]}${parts[3]}`, name: parts[4] ?? "" };
}

/** Builds the ref of experiment `name` on the full 40-hex `baseline`. */
export function formatExpRef(baseline: string, name: string): string {
  return `${EXPS_NAMESPACE}/${baseline.slice(0, 2)}/${baseline.slice(2)}/${name}`;
}

/**
 * Keeps the experiment refs of a ref listing: under `refs/exps`, not internal,
 * parsed. Refs of the wrong shape are skipped rather than failing the whole
 * listing (DVC fails; a stray ref should not make every command unusable).
 */
export function expRefsOf(refNames: Iterable<string>): ExpRef[] {
  const out: ExpRef[] = [];
  for (const ref of refNames) {
    if (!ref.startsWith(`${EXPS_NAMESPACE}/`) || isInternalExpRef(ref)) continue;
    const parts = ref.split("/");
    if (parts.length !== 5) continue;
    out.push(parseExpRef(ref));
  }
  return out;
}
