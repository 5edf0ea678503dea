import { newDigest } from "../util/digest.ts";
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join, relative, sep } from "node:path";
import process from "node:process";
import { processExists } from "../util/process_exists.ts";

/** `<gitdir>/dxp-locks-<pid>`: one per process, only while it holds locks in the git dir. */
const JOURNAL = /^dxp-locks-([0-9]+)$/;

/**
 * The lock files one transaction in the git dir creates (`<ref>.lock`,
 * `packed-refs.lock`, `index.lock`, `shallow.lock`), written down before
 * each is made, so that a dxp killed while holding them (SIGKILL, an OOM
 * kill) does not leave them locked for good — git would refuse them until
 * someone removes the file by hand. The journal lists each lock (relative
 * to the git dir) with the md5 of what it may hold, and is removed when the
 * transaction ends; {@link clearDeadLocks} undoes what a dead process left.
 */
export class LockJournal {
  readonly #gitdir: string;
  readonly #path: string;
  /** Open from the first record on; lines are appended (a transaction of many refs stays linear). */
  #fd: number | undefined;

  private constructor(gitdir: string) {
    this.#gitdir = gitdir;
    this.#path = join(gitdir, `dxp-locks-${process.pid}`);
  }

  /**
   * The journal of a transaction about to take locks in `gitdir`, after
   * removing what dead processes left there ({@link clearDeadLocks}).
   */
  static begin(gitdir: string): LockJournal {
    clearDeadLocks(gitdir);
    return new LockJournal(gitdir);
  }

  /**
   * Notes `lock` (an absolute path in the git dir) and each content it may
   * be left holding, before it is created: a lock is made empty and filled
   * after, and a kill can land between the two.
   */
  record(lock: string, ...contents: (string | Uint8Array)[]): void {
    const name = relative(this.#gitdir, lock);
    this.#fd ??= openSync(this.#path, "w");
    writeSync(this.#fd, contents.map((content) => `${md5(content)} ${name}\n`).join(""));
  }

  /** The transaction ended and holds no lock any more. */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    try {
      unlinkSync(this.#path);
    } catch {
      // already gone: nothing to undo
    }
  }
}

/**
 * Removes the locks that processes no longer alive left in `gitdir`, and
 * their journals. A lock goes only when it still holds exactly what its
 * journal recorded; one with other content, or listed by a live process,
 * stays — a lock git or another dxp holds is never touched.
 */
function clearDeadLocks(gitdir: string): void {
  let names: string[];
  try {
    names = readdirSync(gitdir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(JOURNAL.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processExists(pid)) continue;
    const journal = join(gitdir, name);
    try {
      for (const line of readFileSync(journal, "utf8").split("\n")) {
        const space = line.indexOf(" ");
        const lock = line.slice(space + 1);
        if (space !== 32 || !isLockInside(lock)) continue;
        if (contentMd5(join(gitdir, lock)) === line.slice(0, space)) {
          unlinkSync(join(gitdir, lock));
        }
      }
      unlinkSync(journal);
    } catch {
      // unreadable or raced by another cleaner: the locks stay, git's message says what to do
    }
  }
}

/** Only `….lock` files below the git dir are a journal's to name. */
function isLockInside(path: string): boolean {
  return path.endsWith(".lock") && !path.startsWith(sep) &&
    !path.split(sep).some((part) => part === ".." || part === "");
}

function contentMd5(path: string): string | undefined {
  try {
    return md5(readFileSync(path));
  } catch {
    return undefined;
  }
}

function md5(content: string | Uint8Array): string {
  return newDigest("md5").update(content).hex();
}
