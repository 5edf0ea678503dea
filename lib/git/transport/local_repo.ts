/**
 * The "server side" of a local-path remote, in-process: find its Git
 * directory and build its advertisement the way `git-upload-pack` would.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { GitRemoteError } from "../../errors/mod.ts";
import { AGENT } from "../protocol/agent.ts";
import { readRefs } from "../refs_read.ts";
import type { Advertisement } from "./types.ts";

export interface LocalRepo {
  readonly gitdir: string;
  readonly bare: boolean;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function looksLikeGitdir(path: string): Promise<boolean> {
  try {
    if (!(await stat(join(path, "HEAD"))).isFile()) return false;
  } catch {
    return false;
  }
  return (await isDir(join(path, "objects"))) && (await isDir(join(path, "refs")));
}

/** `<path>/.git` may be a "gitdir: <dir>" file (worktrees, submodules). */
async function gitfileTarget(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    if (!text.startsWith("gitdir: ")) return undefined;
    const target = text.slice(8).trim();
    return isAbsolute(target) ? target : resolve(join(path, ".."), target);
  } catch {
    return undefined;
  }
}

/** Finds the repository at `path` as git does: `<path>/.git`, `<path>` itself, then `<path>.git`. */
export async function findLocalRepo(path: string, displayUrl: string): Promise<LocalRepo> {
  const dotGit = join(path, ".git");
  if (await looksLikeGitdir(dotGit)) return { gitdir: dotGit, bare: false };
  const linked = await gitfileTarget(dotGit);
  if (linked !== undefined && (await looksLikeGitdir(linked))) {
    return { gitdir: linked, bare: false };
  }
  if (await looksLikeGitdir(path)) return { gitdir: path, bare: await isBare(path) };
  if (await looksLikeGitdir(`${path}.git`)) {
    return { gitdir: `${path}.git`, bare: await isBare(`${path}.git`) };
  }
  throw new GitRemoteError(`'${displayUrl}' is not a valid Git remote or URL`, {
    data: { url: displayUrl },
  });
}

async function isBare(gitdir: string): Promise<boolean> {
  try {
    const config = await readFile(join(gitdir, "config"), "utf8");
    const m = /^\s*bare\s*=\s*(\w+)/im.exec(config);
    return m === null ? true : /^(true|yes|on|1)$/i.test(m[1]!);
  } catch {
    return true;
  }
}

/** Where HEAD points (`refs/heads/x`), or its detached SHA. */
export async function readHead(gitdir: string): Promise<{ target?: string; oid?: string }> {
  try {
    const text = (await readFile(join(gitdir, "HEAD"), "utf8")).trim();
    if (text.startsWith("ref: ")) return { target: text.slice(5).trim() };
    if (/^[0-9a-f]{40}$/.test(text)) return { oid: text };
  } catch {
    // no HEAD: nothing to advertise for it
  }
  return {};
}

/** The refs `git-upload-pack` would advertise (HEAD first when it resolves). */
export async function localAdvertisement(
  repo: LocalRepo,
  displayUrl: string,
): Promise<Advertisement> {
  let refs: Map<string, string>;
  try {
    refs = await readRefs(repo.gitdir, "refs/");
  } catch (e) {
    throw new GitRemoteError(
      `Could not read the refs of the Git remote '${displayUrl}': ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const head = await readHead(repo.gitdir);
  const headOid = head.target !== undefined ? refs.get(head.target) : head.oid;
  const all = new Map<string, string>();
  if (headOid !== undefined) all.set("HEAD", headOid);
  for (const [name, oid] of refs) all.set(name, oid);
  const capabilities = new Set([
    "report-status",
    "delete-refs",
    "atomic",
    "ofs-delta",
    `agent=${AGENT}`,
  ]);
  const headTarget = head.target !== undefined && headOid !== undefined ? head.target : undefined;
  if (headTarget !== undefined) capabilities.add(`symref=HEAD:${headTarget}`);
  return headTarget === undefined
    ? { refs: all, capabilities, protocol: 0 }
    : { refs: all, headTarget, capabilities, protocol: 0 };
}
