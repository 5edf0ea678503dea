/**
 * One ssh child process as a StreamConnection: stdin/stdout carry the Git
 * protocol, stderr is kept (bounded) to explain failures, the process is
 * always waited for and is killed when the caller aborts.
 */
import { spawn } from "node:child_process";
import { DxpError, GitRemoteError, InterruptedError } from "../../errors/mod.ts";
import { childSettled } from "../../util/child_exit.ts";
import { PktReader } from "../protocol/pkt_line.ts";
import type { StreamConnection } from "./session_stream.ts";
import { explainSshFailure, type SshFailureContext } from "./ssh_errors.ts";

const STDERR_LIMIT = 16 * 1024;

export interface SshSpawn {
  readonly program: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly context: SshFailureContext;
  readonly signal?: AbortSignal | undefined;
  readonly onDebug?: ((line: string) => void) | undefined;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof DxpError ? signal.reason : new InterruptedError();
}

/** Starts the process and returns the connection over its pipes. */
export function spawnSshConnection(spec: SshSpawn): StreamConnection {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) if (v !== undefined) env[k] = v;
  spec.onDebug?.(`ssh: ${[spec.program, ...spec.args].join(" ")}`);
  const child = spawn(spec.program, [...spec.args], { env, stdio: ["pipe", "pipe", "pipe"] });

  let stderr = "";
  let spawnError: Error | undefined;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-STDERR_LIMIT);
  });
  child.stdin.on("error", () => undefined); // EPIPE when the far end has gone; seen via stdout/exit.
  const exited = childSettled(child, (e) => {
    spawnError = e;
  });

  const onAbort = () => {
    child.stdin.destroy();
    child.stdout.destroy();
    child.stderr.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  spec.signal?.addEventListener("abort", onAbort, { once: true });
  void exited.then(() => spec.signal?.removeEventListener("abort", onAbort));

  // Readable streams are async iterables of Buffer (a Uint8Array).
  const reader = new PktReader(child.stdout as AsyncIterable<Uint8Array>);
  let finished = false;

  return {
    reader,
    onDebug: spec.onDebug,
    write(bytes) {
      return new Promise<void>((resolve, reject) => {
        if (spec.signal?.aborted) return reject(abortError(spec.signal));
        if (child.stdin.destroyed || child.stdin.writableEnded) {
          return reject(new GitRemoteError("The connection to the Git remote is already closed."));
        }
        child.stdin.write(bytes, (err) => (err ? reject(err) : resolve()));
      });
    },
    async finish() {
      if (finished) return;
      finished = true;
      child.stdin.end();
      const { code, signal } = await exited;
      if (spec.signal?.aborted) throw abortError(spec.signal);
      if (code !== 0) {
        spec.onDebug?.(`ssh: exited with ${code ?? signal}; stderr: ${stderr.trim()}`);
      }
    },
    async explain(error) {
      if (spec.signal?.aborted) {
        await exited;
        return abortError(spec.signal);
      }
      // The process may still be running (a protocol error on our side): stop it.
      if (!finished) {
        finished = true;
        child.stdin.end();
        const timer = setTimeout(() => onAbort(), 2000);
        const result = await exited;
        clearTimeout(timer);
        return explainSshFailure(spec.context, { ...result, stderr, spawnError, cause: error });
      }
      return explainSshFailure(spec.context, {
        ...(await exited),
        stderr,
        spawnError,
        cause: error,
      });
    },
  };
}
