/**
 * A push into a local-path remote handed to `git receive-pack`, the program
 * `git push` itself runs for such a remote: it stores the pack in quarantine,
 * runs the remote's hooks with git's own environment and stdin, and applies
 * nothing a hook refused. Used only when the remote has hooks; otherwise the
 * in-process receive (local_receive.ts) does the same job without git.
 */
import { spawnSshConnection } from "./ssh_process.ts";
import { streamPushSession } from "./session_stream.ts";
import { withoutRepoEnv } from "./local_hooks.ts";
import type { RefUpdate, RefUpdateResult } from "./types.ts";

export interface GitReceiveContext {
  readonly displayUrl: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onDebug?: ((line: string) => void) | undefined;
}

/** Sends `updates` and `pack` to `git receive-pack <gitdir>`; one result per update. */
export async function receiveWithGit(
  gitdir: string,
  updates: readonly RefUpdate[],
  pack: Uint8Array | null,
  atomic: boolean,
  context: GitReceiveContext,
): Promise<RefUpdateResult[]> {
  const conn = spawnSshConnection({
    program: "git",
    args: ["receive-pack", gitdir],
    env: withoutRepoEnv(context.env),
    onDebug: context.onDebug,
    context: {
      displayUrl: context.displayUrl,
      authTarget: context.displayUrl,
      program: "git",
      programSource: "PATH",
    },
  });
  let session;
  try {
    session = await streamPushSession(conn);
  } catch (e) {
    await conn.finish().catch(() => undefined);
    throw e;
  }
  try {
    const canAtomic = atomic && session.advertisement.capabilities.has("atomic");
    return await session.send(updates, pack, { atomic: canAtomic });
  } finally {
    await session.close();
  }
}
