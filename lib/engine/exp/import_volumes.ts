/**
 * An export file on disk: one file, or volumes `FILE.001`, `FILE.002`, …
 * read as one byte stream. Which volumes exist is settled before anything
 * is read: a gap in the numbers, or a volume shorter than the first one
 * that is not the last, names the volume at fault.
 */
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError } from "../../errors/mod.ts";

/** The files of one export, in order. */
export interface VolumeSet {
  /** The name the user gave, for messages. */
  readonly label: string;
  /** Each volume's file, its size, and its name as shown (built from `label`). */
  readonly volumes: readonly {
    readonly path: string;
    readonly size: number;
    readonly name: string;
  }[];
  /** True when the export was split into numbered volumes. */
  readonly split: boolean;
}

const VOLUME = /^(.*)\.(\d{3,})$/;

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds the export at `path` (named `label` in messages): the file itself,
 * or — for `FILE.001` or a `FILE` that only exists as `FILE.001` — every
 * volume `FILE.NNN`. Throws an InvalidArgumentError naming a missing or
 * short volume.
 */
export async function findVolumes(path: string, label = path): Promise<VolumeSet> {
  const shownBase = VOLUME.exec(label)?.[1] ?? label;
  const shown = (suffix: string) => `${shownBase}.${suffix}`;
  const numbered = VOLUME.exec(path);
  let base: string | undefined;
  if (numbered !== null && Number(numbered[2]) === 1) base = numbered[1]!;
  else if (numbered !== null) {
    throw new InvalidArgumentError(
      `'${label}' is volume ${Number(numbered[2])} of an export: import its first volume '${
        shown("1".padStart(numbered[2]!.length, "0"))
      }'.`,
    );
  } else {
    const size = await fileSize(path);
    if (size !== undefined) {
      return { label, volumes: [{ path, size, name: label }], split: false };
    }
    base = path;
  }
  const numbers: { n: number; name: string }[] = [];
  const prefix = `${basename(base)}.`;
  const siblings = await readdir(dirname(base)).catch(() => [] as string[]);
  for (const name of siblings) {
    const rest = name.slice(prefix.length);
    if (name.startsWith(prefix) && /^\d{3,}$/.test(rest)) numbers.push({ n: Number(rest), name });
  }
  numbers.sort((a, b) => a.n - b.n);
  if (numbers.length === 0) {
    throw new InvalidArgumentError(`'${label}' does not exist or is not a file.`);
  }
  const volumes: { path: string; size: number; name: string }[] = [];
  for (let i = 0; i < numbers.length; i++) {
    const { n, name } = numbers[i]!;
    const file = join(dirname(base), name);
    if (n !== i + 1) {
      throw new InvalidArgumentError(
        `Volume '${
          shown(String(i + 1).padStart(3, "0"))
        }' of '${label}' is missing; nothing was imported.`,
      );
    }
    const size = await fileSize(file);
    const volumeName = shown(name.slice(prefix.length));
    if (size === undefined) {
      throw new InvalidArgumentError(
        `Volume '${volumeName}' of '${label}' is not a readable file.`,
      );
    }
    volumes.push({ path: file, size, name: volumeName });
  }
  const first = volumes[0]!.size;
  for (let i = 1; i < volumes.length; i++) {
    const last = i === volumes.length - 1;
    if (last ? volumes[i]!.size > first : volumes[i]!.size !== first) {
      throw new InvalidArgumentError(
        `Volume '${volumes[i]!.name}' of '${label}' is truncated or damaged (${
          volumes[i]!.size
        } bytes where the other volumes have ${first}); copy it again; nothing was imported.`,
      );
    }
  }
  return { label, volumes, split: true };
}

/** The name of the volume holding byte `offset` of the stream. */
export function volumeAt(set: VolumeSet, offset: number): string {
  let start = 0;
  for (const volume of set.volumes) {
    if (offset < start + volume.size) return volume.name;
    start += volume.size;
  }
  return set.volumes[set.volumes.length - 1]!.name;
}

/**
 * Every byte of every volume in order, in chunks of up to `chunk` bytes
 * (each a fresh buffer the consumer may keep). The next read is already
 * under way while the consumer handles a chunk.
 */
export async function* readVolumes(
  set: VolumeSet,
  chunk = 1024 * 1024,
  onVolume?: (name: string) => void,
): AsyncGenerator<Uint8Array> {
  for (const volume of set.volumes) {
    onVolume?.(volume.name);
    const handle = await open(volume.path, "r");
    const next = () => {
      const buffer = new Uint8Array(chunk);
      return handle.read(buffer, 0, chunk, null).then(({ bytesRead }) =>
        buffer.subarray(0, bytesRead)
      );
    };
    let ahead = next();
    try {
      for (;;) {
        const bytes = await ahead;
        if (bytes.length === 0) break;
        ahead = next();
        yield bytes;
      }
    } finally {
      await ahead.catch(() => undefined);
      await handle.close();
    }
  }
}

/** `length` bytes from `offset` of the stream (fewer at its end). */
export async function readAt(set: VolumeSet, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  let start = 0;
  for (const volume of set.volumes) {
    const end = start + volume.size;
    const at = offset + filled;
    if (filled < length && at < end && at >= start) {
      const take = Math.min(length - filled, end - at);
      const handle = await open(volume.path, "r");
      try {
        const { bytesRead } = await handle.read(out, filled, take, at - start);
        filled += bytesRead;
        if (bytesRead < take) break;
      } finally {
        await handle.close();
      }
    }
    start = end;
  }
  return out.subarray(0, filled);
}

/** The whole stream's size. */
export function totalSize(set: VolumeSet): number {
  return set.volumes.reduce((n, v) => n + v.size, 0);
}
