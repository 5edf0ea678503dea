/**
 * Where an export's bytes go: a file, or volumes of at most N bytes
 * (`FILE.001`, `FILE.002`, …), each written under a temporary name and
 * renamed only when the whole export succeeded — a failed export leaves no
 * file behind. Writes are coalesced into 1 MiB buffers and overlap with the
 * reading and hashing of the next bytes.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StoreError } from "../../errors/mod.ts";

const BUFFER = 1024 * 1024;

/** A byte sink that can be committed (made visible) or aborted (removed). */
export interface ExportSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes and makes the output visible; returns the files written. */
  finish(): Promise<string[]>;
  /** Removes everything written. */
  abort(): Promise<void>;
}

function writeError(path: string, error: unknown): StoreError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new StoreError(`Cannot write '${path}' (${code}).`, { cause: error });
}

/**
 * Gathers small writes into 1 MiB buffers; a full buffer is handed to
 * `out` while the next one fills (two buffers, so memory stays at 2 MiB).
 */
class Coalescer {
  #buffer = new Uint8Array(BUFFER);
  #spare = new Uint8Array(BUFFER);
  #filled = 0;
  #pending: Promise<void> = Promise.resolve();

  constructor(readonly out: (bytes: Uint8Array) => Promise<void>) {}

  async #flush(): Promise<void> {
    if (this.#filled === 0) return;
    const full = this.#buffer.subarray(0, this.#filled);
    await this.#pending;
    this.#pending = this.out(full);
    // Keep a rejection from being unhandled until the next flush awaits it.
    this.#pending.catch(() => undefined);
    [this.#buffer, this.#spare] = [this.#spare, this.#buffer];
    this.#filled = 0;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(BUFFER - this.#filled, chunk.length - at);
      this.#buffer.set(chunk.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === BUFFER) await this.#flush();
    }
  }

  /** Writes what is buffered and waits for every write. */
  async drain(): Promise<void> {
    await this.#flush();
    await this.#pending;
  }

  /** Waits for the write in flight, ignoring its outcome. */
  async settle(): Promise<void> {
    await this.#pending.catch(() => undefined);
  }
}

/** A file written through a temp name next to it, with buffered, overlapped writes. */
class BufferedFile {
  readonly temp: string;
  #handle: FileHandle | undefined;
  readonly #out: Coalescer;
  size = 0;

  private constructor(readonly path: string) {
    this.temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    this.#out = new Coalescer((bytes) =>
      writeAll(this.#handle!, bytes).catch((error) => {
        throw writeError(this.path, error);
      })
    );
  }

  static async create(path: string): Promise<BufferedFile> {
    const file = new BufferedFile(path);
    try {
      file.#handle = await open(file.temp, "wx", 0o644);
    } catch (error) {
      throw writeError(path, error);
    }
    return file;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    await this.#out.write(chunk);
  }

  async close(): Promise<void> {
    await this.#out.drain();
    try {
      await this.#handle?.close();
    } catch (error) {
      throw writeError(this.path, error);
    }
    this.#handle = undefined;
  }

  async discard(): Promise<void> {
    await this.#out.settle();
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    await unlink(this.temp).catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    at += bytesWritten;
  }
}

/** The name of volume `n` (1-based) of `path`: `path.001`. */
export function volumeName(path: string, n: number): string {
  return `${path}.${String(n).padStart(3, "0")}`;
}

/** One file at `path`, replaced only when the export is complete. */
export async function fileSink(path: string): Promise<ExportSink> {
  const file = await BufferedFile.create(path);
  return {
    write: (chunk) => file.write(chunk),
    async finish() {
      try {
        await file.close();
        await rename(file.temp, path);
      } catch (error) {
        await file.discard();
        throw error instanceof StoreError ? error : writeError(path, error);
      }
      return [path];
    },
    abort: () => file.discard(),
  };
}

/**
 * Volumes `path.001`, `path.002`, … of `volumeSize` bytes (the last one
 * shorter). On success older volumes numbered past the last one are removed,
 * so a shorter export never leaves a stale tail an import would read.
 */
export async function volumeSink(path: string, volumeSize: number): Promise<ExportSink> {
  const files: BufferedFile[] = [await BufferedFile.create(volumeName(path, 1))];
  const current = () => files[files.length - 1]!;
  return {
    async write(chunk) {
      let at = 0;
      while (at < chunk.length) {
        if (current().size === volumeSize) {
          files.push(await BufferedFile.create(volumeName(path, files.length + 1)));
        }
        const take = Math.min(volumeSize - current().size, chunk.length - at);
        await current().write(chunk.subarray(at, at + take));
        at += take;
      }
    },
    async finish() {
      try {
        for (const file of files) await file.close();
        for (const file of files) await rename(file.temp, file.path);
      } catch (error) {
        for (const file of files) await file.discard();
        throw error instanceof StoreError ? error : writeError(path, error);
      }
      await removeStaleVolumes(path, files.length);
      return files.map((f) => f.path);
    },
    async abort() {
      for (const file of files) await file.discard();
    },
  };
}

async function removeStaleVolumes(path: string, count: number): Promise<void> {
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const suffix = name.slice(base.length + 1);
    if (/^\d{3,}$/.test(suffix) && Number(suffix) > count) {
      await unlink(join(dirname(path), name)).catch(() => undefined);
    }
  }
}

/**
 * A sink over a caller's stream (stdout): buffered like a file; nothing to
 * remove on failure (the reader sees a truncated archive and refuses it).
 */
export function streamSink(write: (chunk: Uint8Array) => Promise<void>): ExportSink {
  const out = new Coalescer(write);
  return {
    write: (chunk) => out.write(chunk),
    async finish() {
      await out.drain();
      return [];
    },
    abort: () => out.settle(),
  };
}
