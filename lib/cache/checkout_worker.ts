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

/** A job for the helper thread; `seq` numbers the jobs sent, from 0. */
export type CheckoutMessage =
  | {
    readonly kind: "fresh";
    readonly seq: number;
    readonly job: PackedFreshJob;
    readonly claim: Int32Array;
  }
  | { readonly kind: "lstat"; readonly seq: number; readonly job: PackedLstatJob };

/** The answer to job `seq`: its outcome, or none for a job taken back (see CheckoutHelper.takeBack). */
export interface CheckoutAnswer {
  readonly seq: number;
  readonly outcome?: FreshOutcome | LstatOutcome | undefined;
}

/** Written into a placing job's claim by this thread (the main thread writes another value). */
const CLAIMED_BY_THREAD = 1;

interface WorkerScope {
  onmessage: ((event: MessageEvent<CheckoutMessage>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  const message = event.data;
  const answer = (outcome?: FreshOutcome | LstatOutcome, transfer: Transferable[] = []) =>
    scope.postMessage({ seq: message.seq, outcome } satisfies CheckoutAnswer, transfer);
  if (message.kind === "lstat") {
    const job = unpackLstatJob(message.job);
    const outcome: LstatOutcome = job === undefined ? askAllAgain(message.job) : runLstatJob(job);
    answer(outcome, [outcome.stamps.buffer]);
    return;
  }
  // The main thread may have taken this job back to run it itself (see CheckoutHelper.takeBack).
  if (Atomics.compareExchange(message.claim, 0, 0, CLAIMED_BY_THREAD) !== 0) {
    answer();
    return;
  }
  const outcome: FreshOutcome = runFreshJob(unpackFreshJob(message.job));
  answer(outcome, [outcome.placed.buffer, outcome.stamps.buffer]);
};
// Started: lookups are sent from now on (placing jobs may have come already, queued for this).
scope.postMessage("ready", []);
