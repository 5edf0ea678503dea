/**
 * Ref reads and writes the way git does them: `<ref>.lock` created with
 * O_EXCL, compare-and-swap against the current value (loose or packed),
 * rename into place; deletes also rewrite `packed-refs` under its own lock.
 */
import { open, readFile, rename, rmdir, stat, unlink } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DxpError, ExitCode, InvalidArgumentError, LockError } from "../errors/mod.ts";
import { LockJournal } from "./lock_journal.ts";
import { isValidRefName } from "./ref_name.ts";
import { readLooseRef, readPackedRefs } from "./refs_read.ts";
import { ZERO_OID } from "./transport/types.ts";

const OID_RE = /^[0-9a-f]{40}$/;

/** One requested ref change; `expectedOld` undefined skips the compare-and-swap. */
export interface RefWrite {
  readonly ref: string;
  /** New value, or `ZERO_OID` to delete. */
  readonly newOid: string;
  /** Value the ref must have now (`ZERO_OID`: must not exist). */
  readonly expectedOld?: string | undefined;
}

export interface RefWriteResult {
  readonly ref: string;
  readonly ok: boolean;
  readonly reason?: string;
}

/** Throws InvalidArgumentError unless `ref` is a well-formed name under `refs/`. */
export function checkRefName(ref: string): void {
  if (!isValidRefName(ref)) throw new InvalidArgumentError(`'${ref}' is not a valid Git ref name.`);
}

function conflictError(what: string, cause?: unknown): DxpError {
  return new DxpError(
    "RefConflict",
    `Unable to update ${what}: a ref with a conflicting name exists.`,
    ExitCode.failure,
    cause === undefined ? {} : { cause },
  );
}

/** Runs `fn` over `items` with at most `limit` running at once; results in order. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const PARALLEL = 16;

/**
 * Creates `<ref>.lock` with O_EXCL holding `content` (git writes the new
 * value into the lock, then renames it). A held lock is a LockError.
 */
async function takeLock(
  path: string,
  what: string,
  content: string,
  journal: LockJournal,
): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A file where a folder is needed: `refs/a` exists and we write `refs/a/b`.
    if (code === "EEXIST" || code === "ENOTDIR") throw conflictError(what, e);
    throw new LockError(`Unable to lock ${what}: ${(e as Error).message}`, { cause: e });
  }
  journal.record(path, "", content);
  let handle;
  try {
    handle = await open(path, "wx");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new LockError(
        `Unable to update ${what}: '${path}' exists; another Git process may be running — remove the file if not.`,
        { cause: e },
      );
    }
    if (code === "ENOTDIR") throw conflictError(what, e);
    throw new LockError(`Unable to lock ${what}: ${(e as Error).message}`, { cause: e });
  }
  try {
    if (content !== "") await handle.writeFile(content);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await unlinkQuiet(path);
    throw new LockError(`Unable to write the lock of ${what}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  await handle.close();
}

/** Whether `ref` clashes with an existing folder of refs or a packed ref (`a` vs `a/b`). */
async function hasNameConflict(gitdir: string, ref: string, packed: ReadonlyMap<string, string>) {
  try {
    if ((await stat(join(gitdir, ref))).isDirectory()) return true;
  } catch {
    // absent: fine
  }
  for (const name of packed.keys()) {
    if (name.startsWith(`${ref}/`) || ref.startsWith(`${name}/`)) return true;
  }
  return false;
}

async function unlinkQuiet(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** Removes empty folders left by a deleted ref, up to (not including) `refs/<top>`. */
async function pruneDirs(gitdir: string, ref: string): Promise<void> {
  let dir = dirname(ref);
  while (dir.split("/").length > 2) {
    try {
      await rmdir(join(gitdir, dir));
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

/** Rewrites packed-refs without `refs` (and their peeled lines), under `packed-refs.lock`. */
async function removePacked(
  gitdir: string,
  refs: ReadonlySet<string>,
  journal: LockJournal,
): Promise<void> {
  const path = join(gitdir, "packed-refs");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const lines = text.split("\n");
  const kept: string[] = [];
  let dropping = false;
  for (const line of lines) {
    if (line.startsWith("^")) {
      if (!dropping) kept.push(line);
      continue;
    }
    dropping = line.length > 41 && refs.has(line.slice(41));
    if (!dropping) kept.push(line);
  }
  if (kept.length === lines.length) return;
  const lock = `${path}.lock`;
  await takeLock(lock, "'packed-refs'", kept.join("\n"), journal);
  try {
    await rename(lock, path);
  } finally {
    await unlinkQuiet(lock);
  }
}

function staleReason(w: RefWrite, actual: string | undefined): string | undefined {
  if (w.expectedOld === undefined) return undefined;
  const now = actual ?? ZERO_OID;
  if (now === w.expectedOld) return undefined;
  return actual === undefined
    ? `stale info: '${w.ref}' does not exist`
    : `stale info: '${w.ref}' is at ${now}`;
}

/**
 * Applies ref writes. Every ref is locked first; with `atomic` any failure
 * (held lock, stale value, name conflict) leaves every ref untouched. Lock
 * files are never left behind. Returns one result per write, in order.
 */
export async function updateRefs(
  gitdir: string,
  writes: readonly RefWrite[],
  options: { atomic: boolean },
): Promise<RefWriteResult[]> {
  return (await applyRefWrites(gitdir, writes, options)).map(({ ref, ok, reason }) =>
    reason === undefined ? { ref, ok } : { ref, ok, reason }
  );
}

interface Outcome extends RefWriteResult {
  readonly error?: unknown;
}

interface Failure {
  reason: string;
  error?: unknown;
}

function validate(writes: readonly RefWrite[]): Map<string, Failure> {
  const names = new Set<string>();
  for (const w of writes) {
    checkRefName(w.ref);
    if (!OID_RE.test(w.newOid)) {
      throw new InvalidArgumentError(`'${w.newOid}' is not a Git object id.`);
    }
    if (names.has(w.ref)) {
      throw new InvalidArgumentError(`Ref '${w.ref}' is updated twice in one transaction.`);
    }
    names.add(w.ref);
  }
  // `refs/a` and `refs/a/b` cannot both exist: the second of such a pair fails.
  const failures = new Map<string, Failure>();
  for (const w of writes) {
    if (w.newOid === ZERO_OID) continue;
    const parts = w.ref.split("/");
    for (let i = 2; i < parts.length; i++) {
      if (names.has(parts.slice(0, i).join("/"))) {
        failures.set(w.ref, { reason: conflictError(`ref '${w.ref}'`).message });
      }
    }
  }
  return failures;
}

async function applyRefWrites(
  gitdir: string,
  writes: readonly RefWrite[],
  options: { atomic: boolean },
): Promise<Outcome[]> {
  const failures = validate(writes);
  const locked = new Set<RefWrite>();
  const lockOf = (w: RefWrite) => join(gitdir, `${w.ref}.lock`);
  // Locks a killed dxp left would block these refs for good: cleared first.
  const journal = LockJournal.begin(gitdir);
  try {
    const packed = await readPackedRefs(gitdir);
    await mapLimit(writes.filter((w) => !failures.has(w.ref)), PARALLEL, async (w) => {
      try {
        await takeLock(
          lockOf(w),
          `ref '${w.ref}'`,
          w.newOid === ZERO_OID ? "" : `${w.newOid}\n`,
          journal,
        );
      } catch (error) {
        failures.set(w.ref, { reason: `failed to lock: ${(error as Error).message}`, error });
        return;
      }
      locked.add(w);
      if (w.newOid !== ZERO_OID && (await hasNameConflict(gitdir, w.ref, packed))) {
        const error = conflictError(`ref '${w.ref}'`);
        failures.set(w.ref, { reason: error.message, error });
        return;
      }
      const reason = staleReason(w, (await readLooseRef(gitdir, w.ref)) ?? packed.get(w.ref));
      if (reason !== undefined) failures.set(w.ref, { reason });
    });
    const applying = options.atomic && failures.size > 0
      ? []
      : [...locked].filter((w) => !failures.has(w.ref));
    await mapLimit(applying.filter((w) => w.newOid !== ZERO_OID), PARALLEL, async (w) => {
      try {
        await rename(lockOf(w), join(gitdir, w.ref));
        locked.delete(w);
      } catch (error) {
        failures.set(w.ref, { reason: `failed to write: ${(error as Error).message}`, error });
      }
    });
    const deletes = applying.filter((w) => w.newOid === ZERO_OID);
    if (deletes.length > 0) {
      try {
        await removePacked(gitdir, new Set(deletes.map((w) => w.ref)), journal);
        await mapLimit(deletes, PARALLEL, async (w) => {
          await unlink(join(gitdir, w.ref)).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== "ENOENT") throw e;
          });
        });
      } catch (error) {
        for (const w of deletes) {
          if (!failures.has(w.ref)) {
            failures.set(w.ref, { reason: `failed to delete: ${(error as Error).message}`, error });
          }
        }
      }
      await mapLimit([...locked], PARALLEL, (w) => unlinkQuiet(lockOf(w)));
      locked.clear();
      for (const w of deletes) await pruneDirs(gitdir, w.ref);
    }
  } finally {
    await mapLimit([...locked], PARALLEL, (w) => unlinkQuiet(lockOf(w)));
    journal.close();
  }
  const anyFailed = failures.size > 0;
  return writes.map((w) => {
    const f = failures.get(w.ref);
    if (f !== undefined) return { ref: w.ref, ok: false, reason: f.reason, error: f.error };
    if (options.atomic && anyFailed) {
      return { ref: w.ref, ok: false, reason: "atomic transaction failed" };
    }
    return { ref: w.ref, ok: true };
  });
}

/**
 * Sets (or with `ZERO_OID` deletes) one ref, compare-and-swap against
 * `expectedOld` when given. Throws LockError for a held lock and a DxpError
 * with code "RefConflict" when the ref moved.
 */
export async function updateRef(
  gitdir: string,
  ref: string,
  newOid: string,
  expectedOld: string | undefined,
): Promise<void> {
  const [result] = await applyRefWrites(gitdir, [{ ref, newOid, expectedOld }], { atomic: true });
  if (result === undefined || result.ok) return;
  if (result.error instanceof DxpError) throw result.error;
  const reason = result.reason ?? "unknown";
  throw new DxpError("RefConflict", `Unable to update ref '${ref}': ${reason}.`, ExitCode.failure, {
    data: { ref, expectedOld, reason },
    cause: result.error,
  });
}
