import { randomHex } from "../util/digest.ts";
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { LockError } from "../errors/mod.ts";
import { processExists } from "../util/process_exists.ts";

const LOCK_MESSAGE = "Unable to acquire lock. Most likely another DVC process is running or was " +
  "terminated abruptly. Check the page <https://dvc.org/doc/user-guide/troubleshooting#lock-issue> " +
  "for other possible reasons and to learn how to resolve this.";

/** A held repository lock; `release()` is idempotent. */
export interface RepoLock {
  release(): void;
}

/**
 * Takes `.dvc/tmp/lock` as DVC does, so dxp and dvc exclude each other. The
 * file holds the owner's pid (DVC's zc.lockfile writes it too); a lock whose
 * pid is no longer alive is stale and taken over. With `wait`, polls until
 * free or the signal aborts.
 */
export async function acquireRepoLock(
  dvcDir: string,
  options: {
    wait?: boolean;
    signal?: AbortSignal;
    pollMs?: number;
    /** Called once, when the lock is busy and `wait` makes us wait (with the holder's pid). */
    onWait?: (holderPid: number | undefined) => void;
  } = {},
): Promise<RepoLock> {
  const dir = join(dvcDir, "tmp");
  const path = join(dir, "lock");
  mkdirSync(dir, { recursive: true });
  let waiting = false;
  for (;;) {
    const lock = tryAcquire(path);
    if (lock) return lock;
    if (!options.wait) throw new LockError(LOCK_MESSAGE);
    if (options.signal?.aborted) throw new LockError(LOCK_MESSAGE);
    if (!waiting) {
      waiting = true;
      options.onWait?.(ownerPid(path));
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
}

function tryAcquire(path: string): RepoLock | undefined {
  if (createWithPid(path)) return held(path);
  if (!isStale(path)) return undefined;
  // Stale: the owner died (or DVC left the file after releasing its fcntl lock).
  return takeOverStale(path) ? held(path) : undefined;
}

function held(path: string): RepoLock {
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      try {
        if (ownerPid(path) === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * Replaces a stale lock with ours. Two processes that both saw it stale
 * must not both win: the first could remove it and create its own, and the
 * second then remove that fresh lock, believing it is the stale one. So the
 * takeover itself happens under a second lock file (`lock.takeover`, also
 * created holding our pid), and the lock is checked again under it. A
 * process that finds a takeover in progress counts the lock as busy.
 */
function takeOverStale(path: string): boolean {
  const guard = `${path}.takeover`;
  if (!createWithPid(guard)) {
    // A takeover whose process died in that instant: clear it for the next attempt.
    if (isStale(guard) && ageMs(guard) > EMPTY_LOCK_GRACE_MS) unlinkQuiet(guard);
    return false;
  }
  try {
    if (!isStale(path)) return false; // someone else took it over meanwhile and is alive
    unlinkQuiet(path);
    return createWithPid(path);
  } finally {
    unlinkQuiet(guard);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // someone else removed it first
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Creates the lock file already holding our pid, or returns false when it
 * exists. The pid goes into a private file that is then hard-linked to the
 * lock's name: a file created empty and written after would, for a moment,
 * look ownerless to a second process, which would remove it and take the
 * lock too.
 */
function createWithPid(path: string): boolean {
  const own = `${path}.${process.pid}.${randomHex(4)}`;
  writeFileSync(own, ` ${process.pid}\n`, { flag: "wx", mode: 0o644 });
  try {
    linkSync(own, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw error;
    // A file system without hard links: create, then write (the empty moment stays).
    return createThenWrite(path);
  } finally {
    try {
      unlinkSync(own);
    } catch {
      // nothing to remove
    }
  }
}

function createThenWrite(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  writeSync(fd, ` ${process.pid}\n`);
  closeSync(fd);
  return true;
}

/** How long a lock file may stay without a pid before it counts as abandoned. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/**
 * A lock is stale when its owner is no longer alive. A lock without a pid is
 * one being written (DVC creates its lock file, then writes the pid), unless
 * it has been so for longer than a writer needs.
 */
function isStale(path: string): boolean {
  const pid = ownerPid(path);
  if (pid !== undefined) return !processExists(pid);
  if (!existsSync(path)) return true; // gone: free
  return ageMs(path) > EMPTY_LOCK_GRACE_MS;
}

function ownerPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
