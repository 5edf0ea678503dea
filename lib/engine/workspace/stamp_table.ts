import type { HashScheme } from "../../util/object_hasher.ts";

/** Flag bits of an entry. */
const LEGACY = 1; // scheme md5-dos2unix
const DIR_OID = 2; // the oid ends in `.dir`
const DEAD = 4; // forgotten
const TOUCHED = 8; // looked up or recorded by this process

/**
 * Bytes of one entry on disk: hash (8), ino, mtime, size (3 × 8), oid (16),
 * flags (1) — a record each in the layout before columns (read only now).
 */
export const ENTRY_BYTES = 49;

/**
 * What is known about a workspace file: its (inode, mtime, size) stamp when
 * it was hashed or written, and its oid. Kept in typed arrays keyed by a
 * 64-bit hash of the path (~60 bytes per file instead of the ~250 of a map
 * of strings), so the stamps of a million-file output cost tens of MB. The
 * path itself is not kept: a hash collision could only return the oid of
 * another path whose file has the very same inode, mtime and size, which is
 * a hard link to the same content.
 */
export class StampTable {
  #index: Int32Array; // open addressing: entry number + 1, 0 = empty
  #mask: number;
  #hashHi: Uint32Array;
  #hashLo: Uint32Array;
  #ino: Float64Array;
  #mtimeMs: Float64Array;
  #size: Float64Array;
  #oid: Uint8Array;
  #flags: Uint8Array;
  #count = 0;
  #dead = 0;
  #changed = false;

  constructor(expected = 1024) {
    const entries = Math.max(1024, expected);
    let capacity = 2048;
    while (capacity < entries * 2) capacity *= 2;
    this.#index = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#hashHi = new Uint32Array(entries);
    this.#hashLo = new Uint32Array(entries);
    this.#ino = new Float64Array(entries);
    this.#mtimeMs = new Float64Array(entries);
    this.#size = new Float64Array(entries);
    this.#oid = new Uint8Array(entries * 16);
    this.#flags = new Uint8Array(entries);
  }

  /**
   * True once an entry was added, changed or dropped since the table was
   * made (entries read back with {@link fromColumns} or {@link addRecord}
   * are not changes): a
   * no-op checkout then has nothing to save.
   */
  get changed(): boolean {
    return this.#changed;
  }

  /** What the table holds is now on disk: no change until the next one. */
  markSaved(): void {
    this.#changed = false;
  }

  /** Number of live entries. */
  get size(): number {
    return this.#count - this.#dead;
  }

  /** The oid recorded for `path` when its stamp matches and it was hashed in `scheme`. */
  lookup(
    path: string,
    ino: number,
    mtimeMs: number,
    size: number,
    scheme: HashScheme,
  ): string | undefined {
    const e = this.#find(path);
    if (e < 0 || !this.#same(e, ino, mtimeMs, size)) return undefined;
    const flags = this.#flags[e]!;
    if (((flags & LEGACY) !== 0) !== (scheme === "md5-dos2unix")) return undefined;
    this.#flags[e] = flags | TOUCHED;
    return this.#oidAt(e);
  }

  /**
   * True when {@link lookup} would return `oid`, found without making a
   * string: a no-op checkout of a million files asks this once per file.
   */
  holds(
    path: string,
    ino: number,
    mtimeMs: number,
    size: number,
    scheme: HashScheme,
    oid: string,
  ): boolean {
    const e = this.#find(path);
    if (e < 0 || !this.#same(e, ino, mtimeMs, size)) return false;
    const flags = this.#flags[e]!;
    if (((flags & LEGACY) !== 0) !== (scheme === "md5-dos2unix")) return false;
    this.#flags[e] = flags | TOUCHED;
    return this.#sameOid(e, oid);
  }

  /** True when `path` has an entry with this stamp (whatever its scheme). */
  unchanged(path: string, ino: number, mtimeMs: number, size: number): boolean {
    const e = this.#find(path);
    return e >= 0 && this.#same(e, ino, mtimeMs, size);
  }

  set(
    path: string,
    ino: number,
    mtimeMs: number,
    size: number,
    oid: string,
    scheme: HashScheme,
  ): void {
    hashPath(path);
    let e = this.#findHash(HASH[0]!, HASH[1]!);
    const kind = (scheme === "md5-dos2unix" ? LEGACY : 0) | (oid.endsWith(".dir") ? DIR_OID : 0);
    if (
      e >= 0 && (this.#flags[e]! & (DEAD | LEGACY | DIR_OID)) === kind &&
      this.#ino[e] === ino && this.#mtimeMs[e] === mtimeMs && this.#size[e] === size &&
      this.#sameOid(e, oid)
    ) {
      this.#flags[e]! |= TOUCHED;
      return;
    }
    this.#changed = true;
    if (e < 0) e = this.#insert(HASH[0]!, HASH[1]!);
    else if (this.#flags[e]! & DEAD) this.#dead--;
    this.#ino[e] = ino;
    this.#mtimeMs[e] = mtimeMs;
    this.#size[e] = size;
    writeHex(this.#oid, e * 16, oid);
    this.#flags[e] = kind | TOUCHED;
  }

  /** Drops the entry of `path`. */
  delete(path: string): boolean {
    const e = this.#find(path);
    if (e < 0) return false;
    this.#flags[e]! |= DEAD;
    this.#dead++;
    this.#changed = true;
    return true;
  }

  /**
   * The live entries (with `onlyTouched`, only those this process looked up
   * or recorded: pruning) as the byte columns of the on-disk layout, in file
   * order: path hashes (high, low halves), inodes, mtimes, sizes, oids,
   * flags. Each is its typed array's own bytes in the host's byte order,
   * written as they are; a table with no dropped entry is not copied.
   */
  columns(onlyTouched = false): { count: number; columns: Uint8Array[] } {
    const n = this.#count;
    let keep: Int32Array | undefined;
    let count = n;
    if (this.#dead > 0 || onlyTouched) {
      keep = new Int32Array(n);
      count = 0;
      for (let e = 0; e < n; e++) {
        const flags = this.#flags[e]!;
        if (flags & DEAD || (onlyTouched && (flags & TOUCHED) === 0)) continue;
        keep[count++] = e;
      }
    }
    const column = <T extends Uint32Array | Float64Array>(array: T, make: (n: number) => T) => {
      let out = array.subarray(0, count) as T;
      if (keep !== undefined) {
        out = make(count);
        for (let i = 0; i < count; i++) out[i] = array[keep[i]!]!;
      }
      return bytesOf(out);
    };
    const oid = keep === undefined ? this.#oid.subarray(0, 16 * n) : new Uint8Array(16 * count);
    const flags = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const e = keep === undefined ? i : keep[i]!;
      if (keep !== undefined) oid.set(this.#oid.subarray(16 * e, 16 * e + 16), 16 * i);
      flags[i] = this.#flags[e]! & (LEGACY | DIR_OID);
    }
    return {
      count,
      columns: [
        column(this.#hashHi, (k) => new Uint32Array(k)),
        column(this.#hashLo, (k) => new Uint32Array(k)),
        column(this.#ino, (k) => new Float64Array(k)),
        column(this.#mtimeMs, (k) => new Float64Array(k)),
        column(this.#size, (k) => new Float64Array(k)),
        oid,
        flags,
      ],
    };
  }

  /**
   * A table of `count` entries whose {@link columns} `fill` reads in, one
   * column at a time into the typed array that keeps it (no per-entry
   * decoding: a million entries load in a few ms). Undefined when `fill`
   * returns false (the file ended early). Entries read back are not
   * touched; a path hash met twice (a damaged file) keeps its first entry.
   */
  static fromColumns(count: number, fill: (column: Uint8Array) => boolean): StampTable | undefined {
    const table = new StampTable(count);
    const arrays = [
      table.#hashHi,
      table.#hashLo,
      table.#ino,
      table.#mtimeMs,
      table.#size,
      table.#oid,
      table.#flags,
    ];
    for (const array of arrays) {
      const width = array === table.#oid ? 16 : array.BYTES_PER_ELEMENT;
      if (!fill(new Uint8Array(array.buffer, array.byteOffset, count * width))) return undefined;
    }
    // Locals, not private fields, in the loop that runs once per entry.
    const index = table.#index;
    const mask = table.#mask;
    const hashHi = table.#hashHi;
    const hashLo = table.#hashLo;
    const flagsOf = table.#flags;
    let dead = 0;
    for (let e = 0; e < count; e++) {
      let flags = flagsOf[e]! & (LEGACY | DIR_OID);
      const hi = hashHi[e]!;
      const lo = hashLo[e]!;
      let slot = lo & mask;
      for (let ref = index[slot]!; ref !== 0; ref = index[slot]!) {
        if (hashLo[ref - 1] === lo && hashHi[ref - 1] === hi) {
          flags |= DEAD;
          break;
        }
        slot = (slot + 1) & mask;
      }
      flagsOf[e] = flags;
      if (flags & DEAD) dead++;
      else index[slot] = e + 1;
    }
    table.#dead = dead;
    table.#count = count;
    return table;
  }

  /** Adds one entry from its 49 bytes in the layout before columns (not touched). */
  addRecord(bytes: Uint8Array, at: number, view: DataView): void {
    const hi = view.getUint32(at, true);
    const lo = view.getUint32(at + 4, true);
    let e = this.#findHash(hi, lo);
    if (e < 0) e = this.#insert(hi, lo);
    this.#ino[e] = view.getFloat64(at + 8, true);
    this.#mtimeMs[e] = view.getFloat64(at + 16, true);
    this.#size[e] = view.getFloat64(at + 24, true);
    for (let i = 0; i < 16; i++) this.#oid[e * 16 + i] = bytes[at + 32 + i]!;
    this.#flags[e] = bytes[at + 48]! & (LEGACY | DIR_OID);
  }

  #same(e: number, ino: number, mtimeMs: number, size: number): boolean {
    // mtimes are compared to the microsecond: a float of milliseconds holds no more.
    return this.#ino[e] === ino && this.#size[e] === size &&
      Math.abs(this.#mtimeMs[e]! - mtimeMs) < 0.001;
  }

  /** True when entry `e` holds `oid` (32 hex digits, `.dir` when its flags say so). */
  #sameOid(e: number, oid: string): boolean {
    const dir = (this.#flags[e]! & DIR_OID) !== 0;
    if (oid.length !== (dir ? 36 : 32) || (dir && !oid.endsWith(".dir"))) return false;
    const base = e * 16;
    for (let i = 0; i < 16; i++) {
      const byte = this.#oid[base + i]!;
      if (
        oid.charCodeAt(2 * i) !== HEX_CODE[byte >> 4] ||
        oid.charCodeAt(2 * i + 1) !== HEX_CODE[byte & 15]
      ) return false;
    }
    return true;
  }

  #oidAt(e: number): string {
    // One flat string from char codes: concatenating 16 pieces makes a rope per lookup.
    const base = e * 16;
    for (let i = 0; i < 16; i++) {
      const byte = this.#oid[base + i]!;
      OID_CODES[2 * i] = HEX_CODE[byte >> 4]!;
      OID_CODES[2 * i + 1] = HEX_CODE[byte & 15]!;
    }
    const out = String.fromCharCode.apply(null, OID_CODES);
    return this.#flags[e]! & DIR_OID ? `${out}.dir` : out;
  }

  #find(path: string): number {
    hashPath(path);
    const e = this.#findHash(HASH[0]!, HASH[1]!);
    return e >= 0 && (this.#flags[e]! & DEAD) === 0 ? e : -1;
  }

  #findHash(hi: number, lo: number): number {
    for (let slot = lo & this.#mask;; slot = (slot + 1) & this.#mask) {
      const ref = this.#index[slot]!;
      if (ref === 0) return -1;
      const e = ref - 1;
      if (this.#hashLo[e] === lo && this.#hashHi[e] === hi) return e;
    }
  }

  #insert(hi: number, lo: number): number {
    if (this.#count === this.#hashHi.length) this.#growEntries();
    if ((this.#count + 1) * 2 > this.#index.length) this.#growIndex();
    const e = this.#count++;
    this.#hashHi[e] = hi;
    this.#hashLo[e] = lo;
    let slot = lo & this.#mask;
    while (this.#index[slot] !== 0) slot = (slot + 1) & this.#mask;
    this.#index[slot] = e + 1;
    return e;
  }

  #growEntries(): void {
    const n = this.#hashHi.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(
      old: T,
      make: (n: number) => T,
    ) => {
      const next = make(n * (old.length / this.#hashHi.length));
      next.set(old);
      return next;
    };
    this.#ino = grow(this.#ino, (k) => new Float64Array(k));
    this.#mtimeMs = grow(this.#mtimeMs, (k) => new Float64Array(k));
    this.#size = grow(this.#size, (k) => new Float64Array(k));
    this.#oid = grow(this.#oid, (k) => new Uint8Array(k));
    this.#flags = grow(this.#flags, (k) => new Uint8Array(k));
    this.#hashLo = grow(this.#hashLo, (k) => new Uint32Array(k));
    this.#hashHi = grow(this.#hashHi, (k) => new Uint32Array(k));
  }

  #growIndex(): void {
    const capacity = this.#index.length * 2;
    this.#index = new Int32Array(capacity);
    this.#mask = capacity - 1;
    for (let e = 0; e < this.#count; e++) {
      let slot = this.#hashLo[e]! & this.#mask;
      while (this.#index[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#index[slot] = e + 1;
    }
  }
}

/** The two 32-bit halves of the last path hashed (no allocation per call). */
export const HASH = new Uint32Array(2);

/**
 * Two independent 32-bit hashes of the UTF-16 units of `path` (FNV-1a and a
 * multiplicative one), left in {@link HASH}.
 */
export function hashPath(path: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  HASH[0] = a;
  HASH[1] = Math.imul(b ^ (b >>> 13), 0xc2b2ae35) ^ path.length;
}

/** Char codes of `0-9a-f`, and the 32 of the oid being spelled out. */
const HEX_CODE = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
const OID_CODES: number[] = new Array(32).fill(0);

function writeHex(out: Uint8Array, at: number, oid: string): void {
  for (let i = 0; i < 16; i++) {
    out[at + i] = (nibble(oid.charCodeAt(2 * i)) << 4) | nibble(oid.charCodeAt(2 * i + 1));
  }
}

function nibble(code: number): number {
  return code <= 57 ? code - 48 : (code | 0x20) - 87;
}

function bytesOf(array: Uint32Array | Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
