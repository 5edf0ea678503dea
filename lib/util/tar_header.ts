/**
 * The 512-byte headers of a POSIX tar (ustar) archive, and pax extended
 * headers for what ustar cannot hold: names longer than 100 bytes or not
 * ASCII, sizes of 8 GiB and more. What GNU tar, bsdtar and Python's tarfile
 * all read.
 */

export const BLOCK = 512;
/** The largest size an 11-digit octal field holds (8 GiB − 1). */
const MAX_OCTAL_SIZE = 0o77777777777;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Entry types this code writes or understands. */
export const TYPE = {
  file: "0",
  oldFile: "\0",
  hardlink: "1",
  symlink: "2",
  directory: "5",
  paxEntry: "x",
  paxGlobal: "g",
  gnuLongName: "L",
  gnuLongLink: "K",
} as const;

/** One member's header fields as written. */
export interface HeaderFields {
  readonly path: string;
  readonly size: number;
  /** Permission bits (e.g. 0o444). */
  readonly mode: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly type?: string;
}

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  block.set(bytes.subarray(0, length), offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  // length − 1 digits, then NUL.
  writeString(block, offset, length - 1, value.toString(8).padStart(length - 1, "0"));
  block[offset + length - 1] = 0;
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** One ustar header block; the caller makes sure the fields fit (see {@link needsPax}). */
export function ustarBlock(fields: HeaderFields): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, fields.path);
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, Math.min(fields.size, MAX_OCTAL_SIZE));
  writeOctal(block, 136, 12, fields.mtime);
  writeString(block, 156, 1, fields.type ?? TYPE.file);
  writeString(block, 257, 6, "ustar\0");
  writeString(block, 263, 2, "00");
  const sum = checksum(block);
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** True when ustar cannot carry `path` or `size` and a pax header must precede the entry. */
export function needsPax(path: string, size: number): boolean {
  return encoder.encode(path).length > 100 || /[^\x20-\x7e]/.test(path) || size > MAX_OCTAL_SIZE;
}

/** A pax record `"<len> key=value\n"`, where len counts the whole record in bytes. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

/** The pax records for a member that ustar cannot describe. */
export function paxRecords(path: string, size: number): Uint8Array {
  let text = paxRecord("path", path);
  if (size > MAX_OCTAL_SIZE) text += paxRecord("size", String(size));
  return encoder.encode(text);
}

/** Parses pax records into key → value; throws on malformed records. */
export function parsePaxRecords(bytes: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    let space = at;
    while (space < bytes.length && bytes[space] !== 0x20) space++;
    const length = Number(new TextDecoder().decode(bytes.subarray(at, space)));
    if (!Number.isInteger(length) || length <= 0 || at + length > bytes.length) {
      throw new Error("a pax header record is malformed");
    }
    const record = bytes.subarray(space + 1, at + length);
    if (record[record.length - 1] !== 0x0a) throw new Error("a pax header record is malformed");
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new Error("a pax header record is malformed");
    out.set(decodeText(record.subarray(0, eq)), decodeText(record.subarray(eq + 1, -1)));
    at += length;
  }
  return out;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new Error("a member name is not valid UTF-8");
  }
}

/** A header as read. */
export interface ParsedHeader {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly type: string;
}

function fieldString(block: Uint8Array, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const nul = slice.indexOf(0);
  return decodeText(nul < 0 ? slice : slice.subarray(0, nul));
}

function fieldNumber(block: Uint8Array, offset: number, length: number): number {
  const slice = block.subarray(offset, offset + length);
  if ((slice[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian, top bit of the first byte set.
    let value = slice[0]! & 0x7f;
    for (let i = 1; i < slice.length; i++) value = value * 256 + slice[i]!;
    return value;
  }
  const text = new TextDecoder().decode(slice).replace(/[\0 ]+$/, "").replace(/^[ ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error("a header has a malformed number");
  return parseInt(text, 8);
}

/** True for the all-zero blocks that end an archive. */
export function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/**
 * Reads one header block: checksum checked, ustar (POSIX or GNU) magic
 * required, `prefix` joined to the name. Throws an Error saying what is wrong.
 */
export function parseHeader(block: Uint8Array): ParsedHeader {
  const stored = fieldNumber(block, 148, 8);
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    signed += i >= 148 && i < 156 ? 0x20 : (block[i]! << 24) >> 24;
  }
  if (stored !== checksum(block) && stored !== signed) {
    throw new Error("a tar header has a bad checksum");
  }
  const magic = new TextDecoder().decode(block.subarray(257, 263));
  if (magic !== "ustar\0" && magic !== "ustar ") throw new Error("it is not a ustar archive");
  const name = fieldString(block, 0, 100);
  const prefix = magic === "ustar\0" ? fieldString(block, 345, 155) : "";
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    size: fieldNumber(block, 124, 12),
    mode: fieldNumber(block, 100, 8),
    type: String.fromCharCode(block[156]!),
  };
}

/** Bytes of padding after `size` bytes of data, up to the next block. */
export function paddingAfter(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
