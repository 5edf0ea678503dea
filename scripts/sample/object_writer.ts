import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type DirManifestEntry, dirOid, serializeDirManifest } from "../../lib/dvc/dir_manifest.ts";
import { objectKey } from "../../lib/core/object_key.ts";
import { createObjectHasher, hashBytes } from "../../lib/util/object_hasher.ts";

/** What was written for one object. */
export interface WrittenObject {
  oid: string;
  size: number;
}

/**
 * Writes DVC 3.x objects into a cache folder (`files/md5/ab/…`, mode 0444)
 * the way DVC does: a temporary file in the cache, renamed into place; an
 * object that already exists is left alone. Optionally writes the same bytes
 * to a work-tree path in the same pass (mode 0644).
 */
export class ObjectWriter {
  readonly keys = new Set<string>();
  bytes = 0;
  private readonly madeDirs = new Set<string>();

  constructor(readonly cacheDir: string) {}

  /** Stores `data` (and copies it to `workspacePath`); returns its oid. */
  async putBytes(data: Uint8Array, workspacePath?: string): Promise<WrittenObject> {
    if (workspacePath !== undefined) {
      await this.mkdirOnce(dirname(workspacePath));
      await writeFile(workspacePath, data, { mode: 0o644 });
    }
    return await this.store(hashBytes(data, "md5"), data);
  }

  /** Stores a directory's manifest as `<md5>.dir` (bytes exactly as DVC writes them). */
  putManifest(entries: readonly DirManifestEntry[]): Promise<WrittenObject> {
    const data = serializeDirManifest(entries);
    return this.store(dirOid(data), data);
  }

  private async store(oid: string, data: Uint8Array): Promise<WrittenObject> {
    const final = join(this.cacheDir, objectKey(oid, "md5"));
    if (!(await exists(final))) {
      const temp = await this.tempPath();
      await writeFile(temp, data);
      await this.settle(temp, final);
    }
    this.note(oid, data.length);
    return { oid, size: data.length };
  }

  /**
   * Streams chunks into the cache (and `workspacePath`), hashing on the way,
   * so a big object is held in memory one chunk at a time.
   */
  async putStream(chunks: Iterable<Uint8Array>, workspacePath?: string): Promise<WrittenObject> {
    const temp = await this.tempPath();
    const targets = [temp];
    if (workspacePath !== undefined) {
      await this.mkdirOnce(dirname(workspacePath));
      targets.push(workspacePath);
    }
    const handles = await Promise.all(targets.map((p) => open(p, "w", 0o644)));
    const hasher = createObjectHasher("md5");
    let size = 0;
    try {
      for (const chunk of chunks) {
        hasher.update(chunk);
        size += chunk.length;
        for (const handle of handles) await writeAll(handle, chunk);
      }
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
    const oid = hasher.digest();
    const final = join(this.cacheDir, objectKey(oid, "md5"));
    if (await exists(final)) await rm(temp);
    else await this.settle(temp, final);
    this.note(oid, size);
    return { oid, size };
  }

  private note(oid: string, size: number): void {
    const key = objectKey(oid, "md5");
    if (!this.keys.has(key)) this.bytes += size;
    this.keys.add(key);
  }

  private async tempPath(): Promise<string> {
    const dir = join(this.cacheDir, "files", "md5");
    await this.mkdirOnce(dir);
    return join(dir, `.${randomBytes(16).toString("base64url")}.tmp`);
  }

  /** Copies a stored object to a work-tree path (mode 0644), as DVC's `copy` link type. */
  async copyOut(oid: string, workspacePath: string): Promise<void> {
    await this.mkdirOnce(dirname(workspacePath));
    await copyFile(join(this.cacheDir, objectKey(oid, "md5")), workspacePath);
    await chmod(workspacePath, 0o644);
  }

  private async mkdirOnce(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  private async settle(temp: string, final: string): Promise<void> {
    await this.mkdirOnce(dirname(final));
    await chmod(temp, 0o444);
    await rename(temp, final);
  }
}

async function writeAll(
  handle: import("node:fs/promises").FileHandle,
  chunk: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
