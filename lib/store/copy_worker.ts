/**
 * The copying thread of local stores: copies one large object at a time
 * into a temp file the main thread made, hashing it as it goes (see
 * copy_helper.ts), and answers with its md5. It never creates, renames or
 * removes anything: what the bytes become is the main thread's call.
 */
import { closeSync, openSync } from "node:fs";
import { copyHashed, type CopySide, CopySideError, sideError } from "./fd_copy.ts";
import type { CopyJob, CopyReply } from "./copy_protocol.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<CopyJob>) => void) | null;
  postMessage(message: CopyReply | "ready"): void;
}

/** Progress is told every this many bytes: a few messages per 100 MiB. */
const TELL_EVERY = 8 * 1024 * 1024;

const scope = globalThis as unknown as WorkerScope;
const buffers = [new Uint8Array(1024 * 1024), new Uint8Array(1024 * 1024)] as const;

scope.onmessage = async (event) => {
  const { source, target } = event.data;
  const stop = new Int32Array(event.data.stop);
  let untold = 0;
  let reply: CopyReply;
  let input: number | undefined;
  let output: number | undefined;
  try {
    input = opened("read", () => openSync(source, "r"));
    // The temp file exists (made O_EXCL by the main thread): opened for writing, not created.
    output = opened("write", () => openSync(target, "r+"));
    const outcome = await copyHashed(input, output, buffers, {
      stop: () => Atomics.load(stop, 0) !== 0,
      onBytes: (bytes) => {
        untold += bytes;
        if (untold < TELL_EVERY) return;
        scope.postMessage({ kind: "bytes", bytes: untold });
        untold = 0;
      },
    });
    if (untold > 0) scope.postMessage({ kind: "bytes", bytes: untold });
    reply = outcome === "stopped" ? { kind: "stopped" } : { kind: "done", ...outcome };
  } catch (error) {
    reply = error instanceof CopySideError
      ? { kind: "failed", side: error.side, code: error.code, message: error.message }
      : { kind: "failed", side: "read", code: undefined, message: String(error) };
  } finally {
    if (input !== undefined) closeSync(input);
    if (output !== undefined) closeSync(output);
  }
  scope.postMessage(reply);
};

function opened(side: CopySide, open: () => number): number {
  try {
    return open();
  } catch (error) {
    throw sideError(side, error);
  }
}
scope.postMessage("ready");
