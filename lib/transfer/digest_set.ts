/**
 * A set of md5 digests (16 bytes each) with one byte of flags per member,
 * kept in typed arrays: ~34 bytes per member instead of the ~200 of a JS
 * string in a `Set` (plus the object it usually comes with), so a
 * directory output of a million files costs tens of MB, not hundreds.
 * Open addressing with linear probing; md5 digests are uniformly spread,
 * so their first four bytes are the hash. Members are never removed.
 *
 * @example
 * const set = new DigestSet();
 * const i = set.add("37b51d194a7513e45b56f6524f2d51f2");
 * set.setFlag(i, 1);
 * set.indexOf("37b51d194a7513e45b56f6524f2d51f2"); // i
 */
export class DigestSet {
  #digests: Uint8Array;
  #flags: Uint8Array;
  /** Slot → 1 when used (a digest of all zeros is a valid md5). */
  #used: Uint8Array;
  #mask: number;
  #size = 0;
  readonly #scratch = new Uint8Array(16);

  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.#digests = new Uint8Array(capacity * 16);
    this.#flags = new Uint8Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a digest given as 32 hex digits; returns its slot (stable until the set grows). */
  add(hex: string): number {
    this.#parse(hex);
    return this.#insert(this.#scratch);
  }

  /** The slot of a digest given as 32 hex digits, or -1. */
  indexOf(hex: string): number {
    if (!this.#parse(hex, false)) return -1;
    return this.#find(this.#scratch);
  }

  has(hex: string): boolean {
    return this.indexOf(hex) >= 0;
  }

  flags(slot: number): number {
    return this.#flags[slot]!;
  }

  setFlag(slot: number, flag: number): void {
    this.#flags[slot]! |= flag;
  }

  clearFlag(slot: number, flag: number): void {
    this.#flags[slot]! &= ~flag;
  }

  /** 32 lower-case hex digits of the digest in `slot`. */
  hex(slot: number): string {
    let out = "";
    const base = slot * 16;
    for (let i = 0; i < 16; i++) out += HEX[this.#digests[base + i]!];
    return out;
  }

  /** Every used slot, in table order (not insertion order). Do not add while iterating. */
  *slots(): Generator<number> {
    const used = this.#used;
    for (let slot = 0; slot < used.length; slot++) if (used[slot] === 1) yield slot;
  }

  /** How many members have every bit of `flag` set. */
  count(flag: number): number {
    let n = 0;
    const used = this.#used;
    const flags = this.#flags;
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] === 1 && (flags[slot]! & flag) === flag) n++;
    }
    return n;
  }

  #parse(hex: string, strict = true): boolean {
    const scratch = this.#scratch;
    let bad = hex.length < 32 ? 1 : 0;
    for (let i = 0; i < 16 && bad === 0; i++) {
      const a = hex.charCodeAt(2 * i);
      const b = hex.charCodeAt(2 * i + 1);
      const hi = a < 128 ? HEX_VALUE[a]! : 0x10;
      const lo = b < 128 ? HEX_VALUE[b]! : 0x10;
      bad = (hi | lo) & 0x10;
      scratch[i] = (hi << 4) | lo;
    }
    if (bad !== 0) {
      if (strict) throw new RangeError(`not an md5 digest: '${hex}'`);
      return false;
    }
    return true;
  }

  #slotOf(digest: Uint8Array): number {
    return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) & this.#mask;
  }

  #equalAt(slot: number, digest: Uint8Array): boolean {
    const base = slot * 16;
    const d = this.#digests;
    for (let i = 0; i < 16; i++) if (d[base + i] !== digest[i]) return false;
    return true;
  }

  #find(digest: Uint8Array): number {
    for (let slot = this.#slotOf(digest);; slot = (slot + 1) & this.#mask) {
      if (this.#used[slot] === 0) return -1;
      if (this.#equalAt(slot, digest)) return slot;
    }
  }

  #insert(digest: Uint8Array): number {
    if ((this.#size + 1) * 2 > this.#used.length) this.#grow();
    for (let slot = this.#slotOf(digest);; slot = (slot + 1) & this.#mask) {
      if (this.#used[slot] === 0) {
        this.#used[slot] = 1;
        this.#digests.set(digest, slot * 16);
        this.#size++;
        return slot;
      }
      if (this.#equalAt(slot, digest)) return slot;
    }
  }

  #grow(): void {
    const oldDigests = this.#digests;
    const oldFlags = this.#flags;
    const oldUsed = this.#used;
    const capacity = oldUsed.length * 2;
    this.#digests = new Uint8Array(capacity * 16);
    this.#flags = new Uint8Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
    for (let old = 0; old < oldUsed.length; old++) {
      if (oldUsed[old] === 0) continue;
      const digest = oldDigests.subarray(old * 16, old * 16 + 16);
      let slot = this.#slotOf(digest);
      while (this.#used[slot] === 1) slot = (slot + 1) & this.#mask;
      this.#used[slot] = 1;
      this.#digests.set(digest, slot * 16);
      this.#flags[slot] = oldFlags[old]!;
    }
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Value of an ASCII hex digit; 0x10 (invalid) for anything else. */
const HEX_VALUE = (() => {
  const table = new Uint8Array(128).fill(0x10);
  for (let i = 0; i < 10; i++) table[48 + i] = i;
  for (let i = 0; i < 6; i++) table[97 + i] = table[65 + i] = 10 + i;
  return table;
})();
