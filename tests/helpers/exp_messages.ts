/**
 * Compares experiment messages of dxp and DVC where DVC's name order comes
 * from Python sets (fixtures README §9.4 item 7) and where dxp deliberately
 * prints names plainly instead of a Python list repr (`'['exp-b']'`).
 */

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
