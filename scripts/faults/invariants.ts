/**
 * What must hold after any fault, whatever the command did:
 *
 * 1. refs-have-data: every experiment ref on origin.git has all its objects on
 *    the DVC remote, and no ref of the repositories points at a missing object;
 * 2. objects-sound: every object in the cache and on the remote hashes to its name;
 * 3. no-partial-file: every file of the work tree's outputs is a whole version
 *    of some object (nothing half-written under a final name);
 * 4. user-files-kept: the user's untracked notes and uncommitted edit are where
 *    they were (or, after exp apply, in its stash).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gitSound, type Prepared } from "./ops.ts";
import {
  filesUnder,
  git,
  md5,
  TEMP_NAME,
  USER_NOTES,
  USER_NOTES_TEXT,
  USER_TRAIN,
  type World,
} from "./world.ts";

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

const OBJECT_KEY = /^files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/;

function objectProblem(key: string, bytes: Uint8Array): string | undefined {
  const m = OBJECT_KEY.exec(key);
  if (m === null) return TEMP_NAME.test(key) ? undefined : `unexpected file '${key}'`;
  const actual = md5(bytes);
  return actual === m[1]! + m[2]! ? undefined : `'${key}' holds bytes hashing to ${actual}`;
}

/** The md5 of every object a sample holds (any version of any output file). */
export function knownDigests(world: World): Set<string> {
  const out = new Set<string>();
  for (const key of filesUnder(world.sample.cacheDir)) {
    const m = OBJECT_KEY.exec(key);
    if (m !== null && m[3] === undefined) out.add(m[1]! + m[2]!);
  }
  return out;
}

export async function checkInvariants(
  world: World,
  prepared: Prepared,
  known: ReadonlySet<string>,
): Promise<Violation[]> {
  const found: Violation[] = [];
  const add = (invariant: string, detail: string) => found.push({ invariant, detail });
  const { sample } = world;

  // 1. refs-have-data
  const remoteKeys = new Set(await world.remote.keys());
  const originRefs = git(
    ["for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/"],
    sample.originGit,
    world.env,
  ).split("\n").filter((l) => l !== "");
  for (const line of originRefs) {
    const [ref, oid] = line.split(" ");
    const exp = sample.experiments.find((e) => e.ref === ref);
    if (exp === undefined || exp.sha !== oid) {
      add("refs-have-data", `origin.git has an unexpected ref '${line}'`);
      continue;
    }
    const lacking = exp.objects.filter((key) => !remoteKeys.has(key));
    if (lacking.length > 0) {
      add(
        "refs-have-data",
        `${ref} is on origin.git but ${lacking.length} of its objects are not on the remote`,
      );
    }
  }
  for (const dir of new Set([sample.originGit, sample.repo, prepared.cwd])) {
    const problem = gitSound(dir, world.env);
    if (problem !== undefined) add("refs-have-data", `git fsck in ${dir}: ${problem}`);
  }

  // 2. objects-sound
  for (const key of remoteKeys) {
    const problem = objectProblem(key, await world.remote.read(key));
    if (problem !== undefined) add("objects-sound", `remote: ${problem}`);
  }
  for (const repo of new Set([sample.repo, prepared.cwd])) {
    const cache = join(repo, ".dvc", "cache");
    for (const rel of filesUnder(cache)) {
      if (!rel.startsWith("files/")) continue;
      const problem = objectProblem(rel, readFileSync(join(cache, rel)));
      if (problem !== undefined) add("objects-sound", `cache of ${repo}: ${problem}`);
    }
  }

  // 3. no-partial-file
  const tree = prepared.cwd;
  const outputs = [
    ...filesUnder(join(tree, "data_out")).map((rel) => join("data_out", rel)),
    ...(existsSync(join(tree, "model.bin")) ? ["model.bin"] : []),
  ];
  for (const rel of outputs) {
    if (TEMP_NAME.test(rel)) continue; // a temp name is not a final name
    const digest = md5(readFileSync(join(tree, rel)));
    if (!known.has(digest)) add("no-partial-file", `'${rel}' is no version of any object`);
  }

  // 4. user-files-kept
  const notes = join(tree, USER_NOTES);
  if (!existsSync(notes) || readFileSync(notes, "utf8") !== USER_NOTES_TEXT) {
    add("user-files-kept", `the untracked '${USER_NOTES}' changed or vanished`);
  }
  const train = readFileSync(join(tree, "train.py"), "utf8");
  if (!train.endsWith(USER_TRAIN)) {
    // exp apply saves it in refs/exps/apply/stash; an apply run again after a
    // fault stashes anew, and the first stash stays in that ref's reflog.
    const stashed = (() => {
      try {
        const shas = git(["log", "-g", "--format=%H", "refs/exps/apply/stash"], tree, world.env)
          .split("\n").filter((l) => l !== "");
        return shas.some((sha) =>
          git(["show", `${sha}:train.py`], tree, world.env).endsWith(USER_TRAIN)
        );
      } catch {
        return false;
      }
    })();
    if (prepared.op !== "exp apply" || !stashed) {
      add("user-files-kept", "the user's uncommitted edit of train.py is lost");
    }
  }
  return found;
}
