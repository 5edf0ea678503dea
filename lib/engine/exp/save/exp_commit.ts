import { lstat, readdir } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import git from "isomorphic-git";
import type { GitConfig } from "../../../git/git_config.ts";
import type { GitCache } from "../../../git/revision.ts";
import { writeGitIndex } from "../../workspace/git_index.ts";
import { dirtyPaths, indexFiles, type StatusRow, workFileBlob } from "../../workspace/git_stash.ts";
import { flattenCommit, type GitFile, writeFlatTree } from "../../workspace/git_tree.ts";
import { gitObjectsFs } from "../../../git/objects_fs.ts";

/** What the experiment commit is made of. */
export interface ExpCommitInput {
  /** The Git work tree top. */
  readonly dir: string;
  readonly gitdir: string;
  readonly cache: GitCache;
  readonly baseline: string;
  /** The whole commit message, written as is (no newline added). */
  readonly message: string;
  readonly author: string;
  readonly committer: string;
  /**
   * Files (Git work-tree paths) to commit with these bytes instead of the
   * work tree's: stage files rewritten by the save. `always` ones are
   * committed even when untracked (`dvc.lock`); the others only when Git
   * tracks them.
   */
  readonly overrides: ReadonlyMap<string, { bytes: Uint8Array; always: boolean }>;
  /** Files to add even when untracked or ignored (`git add -f`): `-I` paths, top-level metrics/params. */
  readonly include: readonly string[];
}

/** The experiment commit, written to the object store (no ref yet). */
export interface ExpCommit {
  readonly sha: string;
  /** Untracked, not ignored files left out of the commit, sorted (DVC's warning). */
  readonly untracked: string[];
  /** The index holds changes against HEAD (DVC leaves index = HEAD afterwards). */
  readonly indexDiffers: boolean;
  /** HEAD's files, for resetting the index. */
  readonly headFiles: Map<string, GitFile>;
  /** Paths whose work-tree file differs from HEAD's (or is missing). */
  readonly workDirty: Set<string>;
}

/**
 * Builds the commit `dvc exp save` makes (spec §4): the baseline's tree
 * plus everything Git tracks as it is in the work tree (`git add -u` on
 * top of the index: staged files included, deleted ones removed), the
 * stage files the save rewrote, and the forced includes; one parent (the
 * baseline); the message verbatim. Only Git objects are written.
 */
export async function writeExpCommit(input: ExpCommitInput): Promise<ExpCommit> {
  const ctx = { dir: input.dir, gitdir: input.gitdir, cache: input.cache };
  const rows = await dirtyPaths(ctx);
  const files = await indexFiles(input);
  const headFiles = await flattenCommit(input.gitdir, input.baseline, input.cache);
  let indexDiffers = false;
  const workDirty = new Set<string>();
  for (const [path, head, work, stage] of rows) {
    if ((head === 0 && stage !== 0) || (head === 1 && stage !== 1)) indexDiffers = true;
    if (work !== 1) workDirty.add(path);
    if (stage === 0) continue;
    if (work === 0) files.delete(path);
    else if (stage !== 2 && !(work === 1 && stage === 1)) {
      files.set(path, await workFileBlob(input, path));
    }
  }
  const tracked = new Set(files.keys());
  for (const [path, { bytes, always }] of input.overrides) {
    if (!always && !tracked.has(path)) continue;
    const oid = await git.writeBlob({ fs: gitObjectsFs, gitdir: input.gitdir, blob: bytes });
    files.set(path, { oid, mode: files.get(path)?.mode ?? "100644" });
  }
  const included = new Set<string>();
  for (const path of await expandIncludes(input.dir, input.include)) {
    files.set(path, await workFileBlob(input, path));
    included.add(path);
  }
  const untracked = rows
    .filter(([path, , work, stage]) => stage === 0 && work !== 0 && !included.has(path))
    .map(([path]) => path)
    .filter((path) => !input.overrides.get(path)?.always)
    .sort();
  const tree = await writeFlatTree(input.gitdir, files);
  const text = `tree ${tree}\nparent ${input.baseline}\nauthor ${input.author}\n` +
    `committer ${input.committer}\n\n${input.message}`;
  const sha = await git.writeObject({
    fs: gitObjectsFs,
    gitdir: input.gitdir,
    type: "commit",
    object: new TextEncoder().encode(text),
    format: "content",
  });
  return { sha, untracked, indexDiffers, headFiles, workDirty };
}

/**
 * Resets the index to HEAD's files (`git reset --mixed`); files whose work
 * copy equals HEAD's get their stat data, the others (`dirty`) none, so git
 * compares their contents.
 */
export async function resetIndexToHead(
  dir: string,
  gitdir: string,
  headFiles: ReadonlyMap<string, GitFile>,
  dirty: ReadonlySet<string>,
): Promise<void> {
  const entries = await Promise.all(
    [...headFiles].map(async ([path, file]) => {
      if (dirty.has(path) || file.mode === "160000") return { path, file };
      const abs = join(dir, ...path.split("/"));
      return { path, file, stats: await lstat(abs, { bigint: true }).catch(() => undefined) };
    }),
  );
  await writeGitIndex(gitdir, entries);
}

/** Include paths as files: a folder stands for every file below it (`.git` excluded). */
async function expandIncludes(dir: string, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const abs = join(dir, ...path.split("/"));
    const info = await lstat(abs).catch(() => undefined);
    if (info === undefined) return;
    if (!info.isDirectory()) {
      out.push(path);
      return;
    }
    for (const name of (await readdir(abs)).sort()) {
      if (name === ".git") continue;
      await walk(`${path}/${name}`);
    }
  };
  for (const path of paths) await walk(path);
  return [...new Set(out)];
}

/** A Git identity line: `Name <email> <seconds> <±hhmm>`. */
export function identityLine(
  kind: "AUTHOR" | "COMMITTER",
  config: GitConfig,
  env: Readonly<Record<string, string | undefined>>,
  now: Date = new Date(),
): string {
  let login = "dxp";
  try {
    login = userInfo().username || login;
  } catch {
    // no passwd entry (containers): keep the default
  }
  const name = env[`GIT_${kind}_NAME`] ?? config.get("user.name") ?? login;
  const email = env[`GIT_${kind}_EMAIL`] ?? config.get("user.email") ?? `${login}@${hostname()}`;
  // As DVC (dulwich): the time is the clock's; a GIT_*_DATE only gives the zone.
  const zone = zoneOf(env[`GIT_${kind}_DATE`]) ?? localZone(now);
  return `${name} <${email}> ${Math.floor(now.getTime() / 1000)} ${zone}`;
}

function zoneOf(date: string | undefined): string | undefined {
  const match = date === undefined ? null : /([+-])(\d\d):?(\d\d)\s*$/.exec(date.trim());
  if (match) return `${match[1]}${match[2]}${match[3]}`;
  if (date !== undefined && /Z\s*$/.test(date.trim())) return "+0000";
  return undefined;
}

function localZone(now: Date): string {
  const offset = -now.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}${
    String(abs % 60).padStart(2, "0")
  }`;
}

export type { StatusRow };
