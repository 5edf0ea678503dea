/**
 * The commands the campaign breaks: how to prepare a world for each (fault
 * free), what to run, where it writes (the folders whose growth a SIGKILL
 * threshold counts), and the state that says it got done.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { bytesUnder, cloneOf, filesUnder, git, md5, TEMP_NAME, type World } from "./world.ts";
import { readFileSync } from "node:fs";

export type OpName = "exp push" | "exp pull" | "pull" | "checkout" | "exp apply";
export const OPS: readonly OpName[] = ["exp push", "exp pull", "pull", "checkout", "exp apply"];

/** A prepared command: where it runs, its arguments, the folders it writes. */
export interface Prepared {
  readonly op: OpName;
  readonly cwd: string;
  readonly args: string[];
  /** Local folders the command writes into (the DVC remote's, when local, counts via Remote.bytes). */
  readonly writes: string[];
  /** The command writes to the DVC remote (push) rather than from it. */
  readonly toRemote: boolean;
}

/** Runs dxp without blocking the event loop (the fault proxy lives in this process). */
export type Dxp = (
  args: string[],
  cwd: string,
) => Promise<{ code: number; stdout: string; stderr: string }>;

function must(result: { code: number; stderr: string }, what: string): void {
  if (result.code !== 0) throw new Error(`${what} failed while preparing: ${result.stderr}`);
}

/** Sets `world` up for `op` with fault-free commands; returns what to run under a fault. */
export async function prepare(op: OpName, world: World, dxp: Dxp): Promise<Prepared> {
  const { sample } = world;
  const exp = sample.experiments.at(-1)!;
  switch (op) {
    case "exp push":
      return {
        op,
        cwd: sample.repo,
        args: ["exp", "push", "origin", exp.name],
        writes: [],
        toRemote: true,
      };
    case "exp pull": {
      must(await dxp(["exp", "push", "origin", exp.name], sample.repo), "exp push");
      const clone = cloneOf(world);
      return {
        op,
        cwd: clone,
        args: ["exp", "pull", "origin", exp.name],
        writes: [join(clone, ".dvc", "cache"), join(clone, ".git")],
        toRemote: false,
      };
    }
    case "pull": {
      must(await dxp(["push"], sample.repo), "push");
      const clone = cloneOf(world);
      return {
        op,
        cwd: clone,
        args: ["pull"],
        writes: [join(clone, ".dvc", "cache"), clone],
        toRemote: false,
      };
    }
    case "checkout":
      // The outputs are gone from the work tree; checkout brings them back from the cache.
      rmSync(join(sample.repo, "data_out"), { recursive: true, force: true });
      rmSync(join(sample.repo, "model.bin"), { force: true });
      return {
        op,
        cwd: sample.repo,
        args: ["checkout"],
        writes: [sample.repo],
        toRemote: false,
      };
    case "exp apply":
      return {
        op,
        cwd: sample.repo,
        args: ["exp", "apply", exp.name],
        writes: [sample.repo],
        toRemote: false,
      };
  }
}

/** Bytes in the folders `prepared` writes (the SIGKILL threshold's measure). */
export function writtenBytes(prepared: Prepared, world: World): number {
  if (prepared.toRemote) return world.remote.bytes();
  return prepared.writes.reduce((sum, dir) => sum + bytesUnder(dir), 0);
}

/**
 * What "done" means for a command, as text that two worlds can compare: the
 * work tree's files and their md5s (without Git and DVC internals), the
 * experiment refs of the repository and of origin.git, and the DVC remote's
 * object keys. Time-stamped refs (exp apply's stash) are left out.
 */
export async function outcome(prepared: Prepared, world: World): Promise<string> {
  const lines: string[] = [];
  const tree = prepared.cwd;
  for (const rel of filesUnder(tree)) {
    if (/^\.git\/|^\.dvc\/(cache|tmp)\/|^\.dvc\/config\.local$/.test(rel)) continue;
    lines.push(`file ${rel} ${md5(readFileSync(join(tree, rel)))}`);
  }
  const refs = (dir: string) =>
    git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/"], dir, world.env)
      .split("\n").filter((l) => l !== "" && !l.startsWith("refs/exps/apply/"));
  for (const line of refs(tree)) lines.push(`ref ${line}`);
  for (const line of refs(world.sample.originGit)) lines.push(`origin ${line}`);
  // A temp file (or folder) a killed upload left under its temp name is no object (and names nothing).
  for (const key of await world.remote.keys()) {
    if (!TEMP_NAME.test(key)) lines.push(`remote ${key}`);
  }
  return lines.join("\n");
}

/** Whether git still considers the repository sound (objects of every ref present). */
export function gitSound(dir: string, env: Record<string, string>): string | undefined {
  try {
    execFileSync("git", ["fsck", "--connectivity-only", "--no-dangling"], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return undefined;
  } catch (error) {
    return String((error as { stderr?: unknown }).stderr ?? error).trim().split("\n")[0];
  }
}
