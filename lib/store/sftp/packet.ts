/**
 * SFTP version 3 wire format (draft-ietf-secsh-filexfer-02): packet types,
 * status codes, attribute flags, and a minimal encoder/decoder for its
 * big-endian fields. Every packet is `uint32 length, byte type, payload`.
 */

/** Packet types used by the client. */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** SSH_FX_* status codes. */
export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** SSH_FXF_* open flags. */
export const OPEN_FLAGS = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

const ATTR_SIZE = 0x01;
const ATTR_UIDGID = 0x02;
const ATTR_PERMISSIONS = 0x04;
const ATTR_ACMODTIME = 0x08;
const ATTR_EXTENDED = 0x80000000;

/** The attributes dxp reads or sets (others are skipped when decoding). */
export interface FileAttrs {
  readonly size?: number;
  /** Full st_mode (type bits included) as the server sends it. */
  readonly mode?: number;
}

const S_IFMT = 0o170000;
/** True when `attrs` describe a directory. */
export function isDirectory(attrs: FileAttrs): boolean {
  return attrs.mode !== undefined && (attrs.mode & S_IFMT) === 0o040000;
}
/** True when `attrs` describe a regular file. */
export function isRegularFile(attrs: FileAttrs): boolean {
  return attrs.mode !== undefined && (attrs.mode & S_IFMT) === 0o100000;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** One field of a request payload. */
export type Field =
  | { readonly u32: number }
  | { readonly u64: number }
  | { readonly str: string | Uint8Array }
  | { readonly attrs: FileAttrs };

function fieldBytes(field: Field): number | Uint8Array {
  if ("str" in field) return typeof field.str === "string" ? encoder.encode(field.str) : field.str;
  if ("u32" in field) return 4;
  if ("u64" in field) return 8;
  return attrsLength(field.attrs);
}

function attrsLength(attrs: FileAttrs): number {
  return 4 + (attrs.size !== undefined ? 8 : 0) + (attrs.mode !== undefined ? 4 : 0);
}

/**
 * Encodes one packet: `type`, request `id` (omitted for INIT), then the
 * fields. Strings are copied once, straight into the packet. Integers are
 * written byte by byte: a DataView would make some engines materialise the
 * ArrayBuffer of every small packet, which costs more than the packet.
 */
export function encodePacket(type: number, id: number | undefined, fields: readonly Field[]) {
  const sizes = fields.map(fieldBytes);
  let length = 1 + (id === undefined ? 0 : 4);
  for (const size of sizes) length += typeof size === "number" ? size : 4 + size.length;
  const packet = new Uint8Array(4 + length);
  putU32(packet, 0, length);
  packet[4] = type;
  let at = 5;
  if (id !== undefined) {
    putU32(packet, at, id);
    at += 4;
  }
  fields.forEach((field, index) => {
    const size = sizes[index]!;
    if (size instanceof Uint8Array) {
      putU32(packet, at, size.length);
      packet.set(size, at + 4);
      at += 4 + size.length;
    } else if ("u32" in field) {
      putU32(packet, at, field.u32);
      at += 4;
    } else if ("u64" in field) {
      putU64(packet, at, field.u64);
      at += 8;
    } else if ("attrs" in field) {
      at = writeAttrs(packet, at, field.attrs);
    }
  });
  return packet;
}

function putU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

function putU64(bytes: Uint8Array, at: number, value: number): void {
  putU32(bytes, at, Math.floor(value / 0x100000000));
  putU32(bytes, at + 4, value >>> 0);
}

/** Reads a big-endian uint32 at `at`. */
export function getU32(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

function writeAttrs(bytes: Uint8Array, at: number, attrs: FileAttrs): number {
  let flags = 0;
  if (attrs.size !== undefined) flags |= ATTR_SIZE;
  if (attrs.mode !== undefined) flags |= ATTR_PERMISSIONS;
  putU32(bytes, at, flags);
  at += 4;
  if (attrs.size !== undefined) {
    putU64(bytes, at, attrs.size);
    at += 8;
  }
  if (attrs.mode !== undefined) {
    putU32(bytes, at, attrs.mode);
    at += 4;
  }
  return at;
}

/** A packet from the server that does not hold the fields its type needs. */
export class SftpProtocolError extends Error {}

/** Reads the fields of one received packet's payload, in order. */
export class PacketReader {
  readonly #bytes: Uint8Array;
  #at: number;

  constructor(bytes: Uint8Array, at = 0) {
    this.#bytes = bytes;
    this.#at = at;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  #need(count: number): void {
    if (this.#at + count > this.#bytes.length) {
      throw new SftpProtocolError("the server sent an SFTP packet shorter than its fields");
    }
  }

  u8(): number {
    this.#need(1);
    return this.#bytes[this.#at++]!;
  }

  u32(): number {
    this.#need(4);
    const value = getU32(this.#bytes, this.#at);
    this.#at += 4;
    return value;
  }

  u64(): number {
    this.#need(8);
    const value = getU32(this.#bytes, this.#at) * 0x100000000 + getU32(this.#bytes, this.#at + 4);
    this.#at += 8;
    return value;
  }

  /** A string's raw bytes (a view into the packet: copy it to keep it). */
  bytes(): Uint8Array {
    const length = this.u32();
    this.#need(length);
    const out = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return out;
  }

  text(): string {
    return decoder.decode(this.bytes());
  }

  attrs(): FileAttrs {
    const flags = this.u32();
    let size: number | undefined;
    let mode: number | undefined;
    if (flags & ATTR_SIZE) size = this.u64();
    if (flags & ATTR_UIDGID) this.#at += 8;
    if (flags & ATTR_PERMISSIONS) mode = this.u32();
    if (flags & ATTR_ACMODTIME) this.#at += 8;
    if (flags & ATTR_EXTENDED) {
      const count = this.u32();
      for (let i = 0; i < count; i++) {
        this.bytes();
        this.bytes();
      }
    }
    this.#need(0);
    return { ...(size !== undefined ? { size } : {}), ...(mode !== undefined ? { mode } : {}) };
  }
}
