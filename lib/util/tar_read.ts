/**
 * A streaming tar reader: yields members one at a time with their bodies as
 * chunks, never holding more than one incoming chunk (plus pax headers).
 * Reads ustar, pax (`x`, `g`) and GNU long names (`L`). Links, devices and
 * FIFOs are refused: nothing read through it can make a caller create one.
 */
import { ChunkReader } from "./tar_bytes.ts";
import {
  BLOCK,
  isZeroBlock,
  paddingAfter,
  type ParsedHeader,
  parseHeader,
  parsePaxRecords,
  TYPE,
} from "./tar_header.ts";

/** Why an archive cannot be read. */
export type TarErrorKind = "truncated" | "corrupt" | "unsafe";

/** A problem with the archive itself, at a byte offset of the stream. */
export class TarError extends Error {
  constructor(readonly kind: TarErrorKind, message: string, readonly offset: number) {
    super(message);
    this.name = "TarError";
  }
}

/** One member (regular file or directory). */
export interface TarEntry {
  /** The name as stored (pax `path` or GNU long name when present). */
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly type: "file" | "directory";
  /** Offset of the member's header in the stream (its pax header's, when it has one). */
  readonly headerOffset: number;
  /** Offset of its first data byte. */
  readonly dataOffset: number;
  /**
   * The body, as views valid until the next chunk is asked for. Read it
   * before asking for the next member (what is left unread is skipped); a
   * stream that ends inside it throws a "truncated" TarError.
   */
  body(): AsyncGenerator<Uint8Array>;
}

const LIMIT_META = 1024 * 1024;

/**
 * The members of the tar stream `source`, up to its end-of-archive marker
 * (two zero blocks). A stream that ends before the marker, a bad header
 * checksum or an unsupported member type throws a {@link TarError}.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ChunkReader(source);
  try {
    yield* members(reader);
  } finally {
    await reader.close();
  }
}

async function readBlock(reader: ChunkReader, what: string): Promise<Uint8Array> {
  const at = reader.offset;
  const block = await reader.read(BLOCK);
  if (block.length < BLOCK) {
    throw new TarError("truncated", `it ends inside ${what} at byte ${at}`, at);
  }
  return block;
}

async function readMeta(reader: ChunkReader, header: ParsedHeader, at: number) {
  if (header.size > LIMIT_META) {
    throw new TarError("corrupt", `an extended header at byte ${at} is too large`, at);
  }
  const data = await reader.read(header.size);
  const padding = await reader.read(paddingAfter(header.size));
  if (data.length < header.size || padding.length < paddingAfter(header.size)) {
    throw new TarError("truncated", `it ends inside an extended header at byte ${at}`, at);
  }
  return data.slice();
}

async function* members(reader: ChunkReader): AsyncGenerator<TarEntry> {
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let metaStart: number | undefined;
  for (;;) {
    const at = reader.offset;
    if (await reader.atEnd()) {
      throw new TarError(
        "truncated",
        `it ends at byte ${at} without its end-of-archive marker`,
        at,
      );
    }
    const block = await readBlock(reader, "a header");
    if (isZeroBlock(block)) {
      const second = await readBlock(reader, "its end-of-archive marker");
      if (!isZeroBlock(second)) {
        throw new TarError("corrupt", `a header at byte ${at} is empty`, at);
      }
      return;
    }
    let header: ParsedHeader;
    try {
      header = parseHeader(block);
    } catch (error) {
      throw new TarError("corrupt", `${(error as Error).message} (at byte ${at})`, at);
    }
    const meta = async () => await readMeta(reader, header, at);
    switch (header.type) {
      case TYPE.paxEntry:
        metaStart ??= at;
        try {
          pax = parsePaxRecords(await meta());
        } catch (error) {
          if (error instanceof TarError) throw error;
          throw new TarError("corrupt", `${(error as Error).message} (at byte ${at})`, at);
        }
        continue;
      case TYPE.paxGlobal:
        await meta();
        continue;
      case TYPE.gnuLongName: {
        metaStart ??= at;
        const bytes = await meta();
        const nul = bytes.indexOf(0);
        longName = new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
        continue;
      }
      case TYPE.gnuLongLink:
        await meta();
        continue;
    }
    const path = pax.get("path") ?? longName ?? header.name;
    const sizeText = pax.get("size");
    const size = sizeText === undefined ? header.size : Number(sizeText);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TarError("corrupt", `member '${path}' has an invalid size`, at);
    }
    const headerOffset = metaStart ?? at;
    pax = new Map();
    longName = undefined;
    metaStart = undefined;
    let type: "file" | "directory";
    if (header.type === TYPE.file || header.type === TYPE.oldFile || header.type === "7") {
      type = "file";
    } else if (header.type === TYPE.directory) {
      type = "directory";
    } else {
      const what = header.type === TYPE.hardlink
        ? "a hard link"
        : header.type === TYPE.symlink
        ? "a symbolic link"
        : `of tar type '${header.type}' (not a regular file)`;
      throw new TarError("unsafe", `member '${path}' is ${what}`, at);
    }
    const dataOffset = reader.offset;
    let unread = size;
    const entry: TarEntry = {
      path,
      size,
      mode: header.mode,
      type,
      headerOffset,
      dataOffset,
      async *body() {
        for await (const chunk of reader.take(unread)) {
          unread -= chunk.length;
          yield chunk;
        }
        if (unread > 0) {
          throw new TarError(
            "truncated",
            `it ends inside member '${path}' at byte ${reader.offset}`,
            reader.offset,
          );
        }
      },
    };
    yield entry;
    // Skip what the consumer left unread, then the padding.
    for await (const _ of entry.body()) { /* skipped */ }
    const pad = paddingAfter(size);
    if ((await reader.read(pad)).length < pad) {
      throw new TarError(
        "truncated",
        `it ends after member '${path}' at byte ${reader.offset}`,
        reader.offset,
      );
    }
  }
}
