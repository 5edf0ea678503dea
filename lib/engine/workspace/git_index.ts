import { newDigest } from "../../util/digest.ts";
import type { BigIntStats } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { LockError } from "../../errors/mod.ts";
import { LockJournal } from "../../git/lock_journal.ts";
import type { GitFile } from "./git_tree.ts";

/** One index entry to write: a tree file and, when the work tree matches it, its stat data. */
export interface IndexEntry {
  readonly path: string;
  readonly file: GitFile;
  /** lstat of the work-tree file when its content equals the blob (else git re-checks it). */
  readonly stats?: BigIntStats | undefined;
}

/**
 * Replaces `.git/index` with a version-2 index holding exactly `entries`
 * (stage 0), as `git reset --mixed` leaves it: written to `index.lock`
 * first (refusing when git holds it) and renamed into place. Entries
 * without stat data make git compare contents on the next status.
 */
export async function writeGitIndex(gitdir: string, entries: readonly IndexEntry[]): Promise<void> {
  const encoder = new TextEncoder();
  const sorted = entries.map((e) => ({ ...e, name: encoder.encode(e.path) }))
    .sort((a, b) => Buffer.compare(a.name, b.name));
  const parts: Uint8Array[] = [];
  const header = Buffer.alloc(12);
  header.write("DIRC", 0, "ascii");
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(sorted.length, 8);
  parts.push(header);
  for (const entry of sorted) {
    const length = 62 + entry.name.length;
    const padded = Math.ceil((length + 1) / 8) * 8;
    const buf = Buffer.alloc(padded);
    const s = entry.stats;
    const u32 = (v: bigint | undefined) => Number((v ?? 0n) & 0xffffffffn);
    if (s !== undefined) {
      buf.writeUInt32BE(u32(s.ctimeNs / 1_000_000_000n), 0);
      buf.writeUInt32BE(u32(s.ctimeNs % 1_000_000_000n), 4);
      buf.writeUInt32BE(u32(s.mtimeNs / 1_000_000_000n), 8);
      buf.writeUInt32BE(u32(s.mtimeNs % 1_000_000_000n), 12);
      buf.writeUInt32BE(u32(s.dev), 16);
      buf.writeUInt32BE(u32(s.ino), 20);
      buf.writeUInt32BE(u32(s.uid), 28);
      buf.writeUInt32BE(u32(s.gid), 32);
      buf.writeUInt32BE(u32(s.size), 36);
    }
    buf.writeUInt32BE(Number.parseInt(entry.file.mode, 8), 24);
    buf.write(entry.file.oid, 40, "hex");
    buf.writeUInt16BE(Math.min(entry.name.length, 0xfff), 60);
    buf.set(entry.name, 62);
    parts.push(buf);
  }
  const body = Buffer.concat(parts);
  const digest = newDigest("sha1").update(body).bytes();
  const lock = join(gitdir, "index.lock");
  const bytes = Buffer.concat([body, digest]);
  // Written down first, so that a dxp killed holding the lock does not block the index for good.
  const journal = LockJournal.begin(gitdir);
  journal.record(lock, "", bytes);
  let handle;
  try {
    handle = await open(lock, "wx", 0o644);
  } catch (error) {
    journal.close();
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new LockError(
        `Unable to create '${lock}': File exists. Another git process seems to be running in this repository; wait for it to finish (or remove the stale lock) and retry.`,
      );
    }
    throw error;
  }
  try {
    await handle.writeFile(bytes);
    await handle.close();
    handle = undefined;
    await rename(lock, join(gitdir, "index"));
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(lock).catch(() => undefined);
    throw error;
  } finally {
    journal.close();
  }
}
