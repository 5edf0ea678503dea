/**
 * Writing an import's staging folder: objects already in the cache are
 * found with one synchronous lstat; small objects are written in one
 * synchronous call, big ones streamed with each write overlapping the
 * hashing of the next chunk. Every staged file is exactly 0444, ready to be
 * renamed into the cache.
 */
import { chmodSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { LocalCache } from "../../cache/mod.ts";
import { isProtectedMode } from "../../store/local_verify.ts";
import type { HashScheme } from "../../util/object_hasher.ts";

/**
 * Whether the cache already has a good copy: a file in mode 0444 is trusted
 * after one synchronous lstat (the common answers, absent or protected,
 * never wait for the thread pool); any other mode is re-hashed as DVC does.
 */
export async function inCache(
  cache: LocalCache,
  oid: string,
  scheme: HashScheme,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  let stats;
  try {
    stats = lstatSync(cache.objectPath(oid, scheme));
  } catch {
    return false;
  }
  if (stats.isFile() && isProtectedMode(stats.mode)) return true;
  return await cache.has(oid, scheme, signal);
}

export function writeSmall(path: string, bytes: Uint8Array, made: Set<string>): void {
  const dir = dirname(path);
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  writeFileSync(path, bytes, { flag: "wx", mode: 0o444 });
  // Exactly DVC's protected mode whatever the umask: the file is renamed into the cache as is.
  chmodSync(path, 0o444);
}

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    parts.push(chunk.slice());
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Writes `chunks` to a new file `path` (0444, created exclusively), each
 * write overlapping the hashing of the next chunk.
 */
export async function writeStaged(
  path: string,
  chunks: AsyncIterable<Uint8Array>,
  made: Set<string>,
): Promise<void> {
  const dir = dirname(path);
  if (!made.has(dir)) {
    await mkdir(dir, { recursive: true });
    made.add(dir);
  }
  const handle = await open(path, "wx", 0o444);
  let pending: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of chunks) {
      await pending;
      pending = writeAll(handle, chunk);
    }
    await pending;
    await handle.chmod(0o444);
  } finally {
    await pending.catch(() => undefined);
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    at += bytesWritten;
  }
}
