import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureCopy } from "./fixture_repo.ts";
import { freshCloneConfigLocal, listFiles } from "./fixture_repo.ts";
import { git } from "./tmp.ts";

/** The three DVC remotes of the `remotes` fixture, in the goldens' order. */
export const REMOTE_NAMES = ["store", "other", "third"] as const;

/** Every object file of the fixture's DVC remotes as `<remote>/<path>` (goldens' form). */
export function remoteObjects(root: string, folders: Record<string, string> = {}): Set<string> {
  const out = new Set<string>();
  for (const name of REMOTE_NAMES) {
    for (const file of listFiles(join(root, folders[name] ?? name))) out.add(`${name}/${file}`);
  }
  return out;
}

/** What `after` holds that `before` did not, sorted. */
export function addedSince(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((entry) => !before.has(entry)).sort();
}

/**
 * Points the repo's three remotes at new empty folders (`empty-store`…) through
 * `.dvc/config.local`, as the `objects-*` goldens were made; returns their names.
 */
export function useEmptyRemotes(fx: FixtureCopy, cwd = fx.repo): Record<string, string> {
  const folders: Record<string, string> = {};
  let text = "";
  for (const name of REMOTE_NAMES) {
    folders[name] = `empty-${name}`;
    mkdirSync(join(fx.root, folders[name]), { recursive: true });
    text += `['remote "${name}"']\n    url = ../../empty-${name}\n`;
  }
  writeFileSync(join(cwd, ".dvc", "config.local"), text);
  return folders;
}

/** A further clone of origin.git at `<root>/<name>`, set up as the fixtures' fresh clone. */
export function cloneAs(fx: FixtureCopy, name: string): string {
  const clone = join(fx.root, name);
  git(["clone", "-q", join(fx.root, "origin.git"), clone], fx.root, fx.env);
  writeFileSync(join(clone, ".dvc", "config.local"), freshCloneConfigLocal("remotes"));
  return clone;
}

/** The names in "Pushed experiment a, b and c to …" / "Pulled experiment …" (DVC's order is a set's). */
export function experimentNames(line: string | undefined): string[] {
  const match = /experiment '?\[?(.+?)\]?'? (?:to|from) Git remote/.exec(line ?? "");
  if (!match) return [];
  return match[1]!.replaceAll("'", "").split(/, | and /).sort();
}
