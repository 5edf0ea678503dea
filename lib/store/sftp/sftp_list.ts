/**
 * Recursive listing over SFTP: several folders are read at once, and the
 * READDIR requests of one folder are pipelined (the server answers them in
 * order with successive batches), so a folder of a few hundred entries costs
 * two round trips. Temp files are skipped.
 */
import { posix } from "node:path";
import { abortError } from "../abort.ts";
import { isTempName } from "../local_write.ts";
import { type DirEntry } from "./sftp_client.ts";
import type { SftpClient } from "./sftp_client.ts";
import { isDirectory } from "./packet.ts";
import { isNoSuchFile } from "./sftp_errors.ts";

/** READDIR requests sent together for one folder. */
const READDIR_BATCH = 3;

/** A name one directory entry can have. */
function isPlainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") &&
    !name.includes("\0");
}

/** Every entry of `path`, or none when it does not exist. */
export async function readFolder(client: SftpClient, path: string): Promise<DirEntry[]> {
  let handle: Uint8Array;
  try {
    handle = await client.opendir(path);
  } catch (error) {
    if (isNoSuchFile(error)) return [];
    throw error;
  }
  const entries: DirEntry[] = [];
  try {
    for (let done = false; !done;) {
      const batches = Array.from({ length: READDIR_BATCH }, () => client.readdir(handle));
      for (const batch of await Promise.all(batches)) {
        if (batch === null) done = true;
        else entries.push(...batch);
      }
    }
  } finally {
    client.close(handle).catch(() => undefined);
  }
  return entries;
}

/**
 * The keys of every file below `folder` whose first-level name starts with
 * `namePrefix`, as `keyPrefix` + relative path, in no particular order.
 */
export async function* listTree(
  client: SftpClient,
  folder: string,
  keyPrefix: string,
  namePrefix: string,
  jobs: number,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const pending: { path: string; key: string; names: string }[] = [
    { path: folder, key: keyPrefix, names: namePrefix },
  ];
  const found: string[] = [];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const start = (task: { path: string; key: string; names: string }) => {
    const job = readFolder(client, task.path).then((entries) => {
      for (const { name, attrs } of entries) {
        // A file name never holds "/" or NUL, and "." and ".." are not entries: a
        // server that lists such names could send the walk out of the remote's
        // folder or round in circles, so they are skipped.
        if (!isPlainName(name) || !name.startsWith(task.names)) continue;
        if (isDirectory(attrs)) {
          pending.push({
            path: posix.join(task.path, name),
            key: `${task.key}${name}/`,
            names: "",
          });
        } else if (!isTempName(name)) {
          found.push(`${task.key}${name}`);
        }
      }
    }, (error) => {
      failure ??= { error };
    }).finally(() => running.delete(job));
    running.add(job);
  };
  try {
    while (pending.length > 0 || running.size > 0 || found.length > 0) {
      if (signal?.aborted) throw abortError(signal);
      if (failure) throw failure.error;
      while (pending.length > 0 && running.size < jobs) start(pending.pop()!);
      if (found.length > 0) {
        yield* found.splice(0);
        continue;
      }
      if (running.size > 0) await Promise.race(running);
    }
    if (failure) throw failure.error;
  } finally {
    // Abandoned early: let the folders being read finish quietly.
    await Promise.allSettled(running);
  }
}
