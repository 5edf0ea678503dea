/**
 * The checkout's helper thread: places the files of each job
 * it is sent and answers with their {@link FreshOutcome}, in order. It only
 * ever writes inside a fresh folder no one sees yet (see `writeFresh`).
 */
import { type PackedFreshJob, runFreshJob, unpackFreshJob } from "./fresh_job.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<PackedFreshJob>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  const outcome = runFreshJob(unpackFreshJob(event.data));
  scope.postMessage(outcome, [outcome.placed.buffer, outcome.stamps.buffer]);
};
// Started: from now on jobs may come (before this the main thread does them).
scope.postMessage("ready", []);
