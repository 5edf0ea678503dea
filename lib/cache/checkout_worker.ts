/**
 * The checkout's helper thread. It answers each message, in order: a
 * {@link FreshOutcome} for a job placing the files of a new directory
 * output (it only ever writes inside a fresh folder no one sees yet, see
 * `buildFresh`), an {@link LstatOutcome} for a job looking up the files of
 * one in the workspace (it changes nothing).
 */
import {
  type FreshOutcome,
  type PackedFreshJob,
  runFreshJob,
  unpackFreshJob,
} from "./fresh_job.ts";
import {
  askAllAgain,
  type LstatOutcome,
  type PackedLstatJob,
  runLstatJob,
  unpackLstatJob,
} from "../util/lstat_job.ts";

/** A job for the helper thread. */
export type CheckoutMessage =
  | { readonly kind: "fresh"; readonly job: PackedFreshJob; readonly claim: Int32Array }
  | { readonly kind: "lstat"; readonly job: PackedLstatJob };

/** Written into a placing job's claim by this thread (the main thread writes another value). */
const CLAIMED_BY_THREAD = 1;

interface WorkerScope {
  onmessage: ((event: MessageEvent<CheckoutMessage>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  const message = event.data;
  if (message.kind === "lstat") {
    const job = unpackLstatJob(message.job);
    const outcome: LstatOutcome = job === undefined ? askAllAgain(message.job) : runLstatJob(job);
    scope.postMessage(outcome, [outcome.stamps.buffer]);
    return;
  }
  // The main thread may have taken this job back to run it itself (see CheckoutHelper.takeBack).
  if (Atomics.compareExchange(message.claim, 0, 0, CLAIMED_BY_THREAD) !== 0) {
    scope.postMessage("skipped", []);
    return;
  }
  const outcome: FreshOutcome = runFreshJob(unpackFreshJob(message.job));
  scope.postMessage(outcome, [outcome.placed.buffer, outcome.stamps.buffer]);
};
// Started: from now on jobs may come (before this the main thread does them).
scope.postMessage("ready", []);
