import { cpus } from "node:os";
import { abortError } from "../store/abort.ts";
import { stopsQueue } from "../store/errors.ts";
import type { TransferOptions } from "../store/types.ts";
import { buildPlan, type Entry } from "./plan.ts";
import type {
  TransferItem,
  TransferProgress,
  TransferQueueOptions,
  TransferReport,
} from "./types.ts";

/** DVC's default number of jobs: 4 × CPU count. */
export function defaultJobs(): number {
  return 4 * Math.max(1, cpus().length);
}

/**
 * Moves `items` between local files and `options.store` (git-lfs `tq` model):
 * duplicates are moved once, the largest ready item starts first, `jobs`
 * workers run at once, an item waits for the keys in its `after` list and is
 * skipped when one of them did not succeed. Every error is collected; only
 * an error that makes further transfers pointless (auth, config, a full or
 * read-only store) stops the queue, and aborting `options.signal` cancels it.
 * Never throws for a transfer failure: the report says what happened to each
 * item. A store opens a file only while transferring it, so open files stay
 * bounded by `jobs` whatever the number of items.
 *
 * @example
 * const report = await transfer(items, { store: remote, jobs: 8, authGate: true });
 * if (report.failed.length > 0) …
 */
export async function transfer(
  items: readonly TransferItem[],
  options: TransferQueueOptions,
): Promise<TransferReport> {
  const plan = buildPlan(items);
  const jobs = Math.max(1, Math.floor(options.jobs ?? defaultJobs()));
  const report = {
    done: [] as TransferItem[],
    failed: [] as { item: TransferItem; error: Error }[],
    skipped: [] as { item: TransferItem; reason: string }[],
  };
  const internal = new AbortController();
  let stoppedBy: Error | undefined;
  let interrupted = false;
  const onCallerAbort = () => {
    interrupted = true;
    stop(abortError(options.signal!));
  };
  if (options.signal?.aborted) onCallerAbort();
  else options.signal?.addEventListener("abort", onCallerAbort, { once: true });

  function stop(error: Error): void {
    if (stoppedBy) return;
    stoppedBy = error;
    internal.abort(error);
  }

  const progress = {
    doneObjects: 0,
    failedObjects: 0,
    totalObjects: plan.entries.length,
    doneBytes: 0,
    totalBytes: plan.entries.reduce((sum, entry) => sum + entry.item.size, 0),
  };
  const emit = (current: TransferItem) => {
    const event: TransferProgress = { ...progress, current };
    options.onProgress?.(event);
  };

  // Wakes idle workers when an item finishes (it may have made dependents ready).
  let wake: (() => void) | undefined;
  let changed = new Promise<void>((resolve) => wake = resolve);
  const notify = () => {
    const resolve = wake;
    changed = new Promise<void>((r) => wake = r);
    resolve?.();
  };

  const settle = (entry: Entry, outcome: Outcome) => {
    entry.settled = true;
    for (const item of entry.items) {
      if (outcome.kind === "done") report.done.push(item);
      else if (outcome.kind === "failed") report.failed.push({ item, error: outcome.error });
      else report.skipped.push({ item, reason: outcome.reason });
    }
    if (outcome.kind === "done") {
      progress.doneObjects++;
      for (const dependent of entry.dependents) {
        if (--dependent.waitingOn === 0 && !dependent.settled) plan.ready.push(dependent);
      }
    } else {
      if (outcome.kind === "failed") progress.failedObjects++;
      const reason = `'${entry.item.key}' was not transferred`;
      for (const dependent of entry.dependents) {
        if (!dependent.settled) settle(dependent, { kind: "skipped", reason });
      }
    }
  };

  let inFlight = 0;
  const runOne = async (entry: Entry) => {
    const { item } = entry;
    inFlight++;
    let moved = 0;
    const transferOptions: TransferOptions = {
      ...(item.expect ? { expect: item.expect } : {}),
      size: item.size,
      signal: internal.signal,
      onBytes: (bytes) => {
        moved += bytes;
        progress.doneBytes += bytes;
        emit(item);
      },
    };
    try {
      if (item.direction === "upload") {
        await options.store.put(item.key, item.localPath, transferOptions);
      } else {
        await options.beforeDownload?.(item);
        await options.store.get(item.key, item.localPath, transferOptions);
        await options.afterDownload?.(item);
      }
      // An object already present moves no bytes; count it whole either way.
      progress.doneBytes += item.size - moved;
      settle(entry, { kind: "done" });
    } catch (caught) {
      progress.doneBytes -= moved;
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (stoppedBy) {
        settle(entry, { kind: "skipped", reason: stopReason(stoppedBy, interrupted) });
      } else {
        settle(entry, { kind: "failed", error });
        if (stopsQueue(error)) stop(error);
      }
    } finally {
      inFlight--;
      emit(item);
      notify();
    }
  };

  const worker = async () => {
    while (!stoppedBy) {
      const entry = plan.ready.pop();
      if (entry) {
        if (!entry.settled) await runOne(entry);
        continue;
      }
      if (inFlight === 0) return;
      await changed;
    }
  };

  try {
    if (options.authGate && !stoppedBy) {
      const first = plan.ready.shift();
      if (first) await runOne(first);
    }
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onCallerAbort);
  }

  // Whatever is left either waited on a cycle or was never started because the queue stopped.
  const leftover = stoppedBy ? stopReason(stoppedBy, interrupted) : "its 'after' keys form a cycle";
  for (const entry of plan.entries) {
    if (!entry.settled) settle(entry, { kind: "skipped", reason: leftover });
  }
  return { ...report, interrupted, ...(stoppedBy ? { stoppedBy } : {}) };
}

type Outcome =
  | { kind: "done" }
  | { kind: "failed"; error: Error }
  | { kind: "skipped"; reason: string };

function stopReason(error: Error, interrupted: boolean): string {
  return interrupted ? "the transfer was interrupted" : `the transfer stopped: ${error.message}`;
}
