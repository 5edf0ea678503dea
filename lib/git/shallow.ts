/**
 * `.git/shallow`: the commits where a shallow clone's history stops. Git
 * treats each listed commit as if it had no parents; so do our walks. The
 * file holds one hex SHA per line, sorted, and is absent when the repository
 * is complete. It is replaced as git does: written to `shallow.lock`, then
 * renamed over the old file.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { CorruptError, LockError } from "../errors/mod.ts";
import { LockJournal } from "./lock_journal.ts";

const OID_RE = /^[0-9a-f]{40}$/;

/** Per-command memo of the shallow set, kept on the caller's Git cache object. */
const SHALLOW = Symbol("dxp.shallow");

type WithShallow = { [SHALLOW]?: Promise<ReadonlySet<string>> };

/** Path of the shallow file of `gitdir`. */
export function shallowFile(gitdir: string): string {
  return join(gitdir, "shallow");
}

/** Parses the file's text; a line that is not a SHA makes the repository unreadable, as in git. */
export function parseShallow(text: string, path = "shallow"): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const oid = line.trim();
    if (oid === "") continue;
    if (!OID_RE.test(oid)) {
      throw new CorruptError(
        `'${path}' has a line that is not a commit id (${
          JSON.stringify(oid.slice(0, 50))
        }); repair or remove that line.`,
      );
    }
    out.add(oid);
  }
  return out;
}

/** The repository's shallow commits (empty for a complete repository). */
export async function readShallow(gitdir: string): Promise<Set<string>> {
  const path = shallowFile(gitdir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return new Set();
    throw e;
  }
  return parseShallow(text, path);
}

/**
 * The shallow set, read once per `cache` object (the per-command Git cache):
 * history walks ask for it at every commit.
 */
export function shallowSet(gitdir: string, cache: object = {}): Promise<ReadonlySet<string>> {
  const holder = cache as WithShallow;
  let pending = holder[SHALLOW];
  if (pending === undefined) {
    pending = readShallow(gitdir);
    pending.catch(() => delete holder[SHALLOW]);
    holder[SHALLOW] = pending;
  }
  return pending;
}

/** Forgets the memo (after `.git/shallow` changed). */
export function forgetShallow(cache: object): void {
  delete (cache as WithShallow)[SHALLOW];
}

/** The file's content for a set: sorted SHAs, one per line (git keeps its grafts sorted). */
export function formatShallow(oids: Iterable<string>): string {
  return [...new Set(oids)].sort().map((oid) => `${oid}\n`).join("");
}

/**
 * Applies `add`/`remove` to the shallow file under `shallow.lock` (read,
 * change, write the lock, rename over): a concurrent git or dxp either waits
 * for us or sees the old or the new file, never half of one. Removing the
 * last commit deletes the file, as git does. Returns the new set.
 */
export async function updateShallow(
  gitdir: string,
  change: { add?: Iterable<string>; remove?: Iterable<string> },
): Promise<Set<string>> {
  const path = shallowFile(gitdir);
  const lock = `${path}.lock`;
  // Written down first, so that a dxp killed holding the lock does not block the file for good.
  const journal = LockJournal.begin(gitdir);
  journal.record(lock, "");
  let handle;
  try {
    handle = await open(lock, "wx", 0o644);
  } catch (e) {
    journal.close();
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new LockError(
        `Unable to create '${lock}': another git process seems to be running in this repository; if not, remove that file and try again.`,
      );
    }
    throw e;
  }
  try {
    const next = await readShallow(gitdir);
    const before = formatShallow(next);
    for (const oid of change.remove ?? []) next.delete(oid);
    for (const oid of change.add ?? []) next.add(oid);
    const text = formatShallow(next);
    if (text === before) {
      await handle.close();
      await rm(lock, { force: true });
      return next;
    }
    if (next.size === 0) {
      await handle.close();
      await rm(path, { force: true });
      await rm(lock, { force: true });
      return next;
    }
    journal.record(lock, text);
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await rename(lock, path);
    return next;
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(lock, { force: true });
    throw e;
  } finally {
    journal.close();
  }
}
