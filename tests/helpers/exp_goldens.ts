/**
 * Compares dxp's experiment output with DVC's goldens where DVC's order comes
 * from Python sets (fixtures README §7 and §9.4 item 7) and where dxp
 * deliberately prints names plainly instead of a Python list repr
 * (`'['exp-b']'`).
 */
import assert from "node:assert/strict";
import type { FixtureCopy } from "./fixture_repo.ts";
import type { Golden } from "./golden.ts";
import type { RunResult } from "./tmp.ts";

/** Same exit code, same messages (names compared as sets), same stderr. */
export function assertExpMessages(result: RunResult, golden: Golden, name: string) {
  assert.equal(result.code, golden.exitCode, `${name}: ${result.stderr}`);
  assert.deepEqual(normalizeExpText(result.stdout), normalizeExpText(golden.stdout), name);
  assert.equal(result.stderr, golden.stderr, name);
}

/** `exp list` output as its baseline blocks, each with its lines sorted. */
export function expListBlocks(text: string): string[] {
  return text.split(/\n(?=\S)/).map((b) => b.split("\n").filter(Boolean).sort().join("\n")).sort();
}

/** `git for-each-ref refs/exps` in the goldens' `<sha> <ref>` form. */
export function expRefLines(fx: FixtureCopy, repo = fx.repo): string {
  return fx.git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], repo);
}

/** One message line with its list of names sorted (order and list repr erased). */
export function normalizeExpLine(line: string): string {
  const sync =
    /^(Pushed experiment|Pulled experiment|Would push experiment|Would pull experiment|Experiment|Local experiment) (.+?) (is up to date on|are up to date on|to|from|has diverged from|have diverged from) (.*)$/
      .exec(line);
  if (sync) {
    const verb = sync[3]!.replace(/^is /, "are ").replace(/^has /, "have ");
    return `${sync[1]} [${namesOf(sync[2]!).join(" ")}] ${verb} ${sync[4]}`;
  }
  const removed = /^Removed experiments: (.+)$/.exec(line);
  if (removed) return `Removed experiments: [${namesOf(removed[1]!).join(" ")}]`;
  return line;
}

/** Every line of a text normalized with `normalizeExpLine` (order of lines kept). */
export function normalizeExpText(text: string): string[] {
  return text.split("\n").filter((line) => line !== "").map(normalizeExpLine);
}

/**
 * The names in `exp-3, 'exp-1' and exp-2` or in a Python list repr
 * `'['exp-4', 'exp-3']'`, sorted.
 */
export function namesOf(list: string): string[] {
  const repr = /^'\[(.*)\]'$/.exec(list);
  const parts = repr ? repr[1]!.split(", ") : list.split(/, | and /);
  return parts.map((part) => part.replace(/^'(.*)'$/, "$1")).sort();
}
