import { HASH, hashPath } from "./stamp_table.ts";

/**
 * A set of paths kept as 64-bit hashes in typed arrays (~16 bytes a path):
 * enough to tell which workspace files a directory output of a million
 * files does not have. A collision (odds ~n²/2⁶⁴) could only make a stray
 * file look like a member and leave it in place.
 */
export class PathSet {
  #hi: Uint32Array;
  #lo: Uint32Array;
  #used: Uint8Array;
  #mask: number;
  #size = 0;

  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
  }

  add(path: string): void {
    if ((this.#size + 1) * 2 > this.#used.length) this.#grow();
    hashPath(path);
    this.#put(HASH[0]!, HASH[1]!);
  }

  has(path: string): boolean {
    hashPath(path);
    const hi = HASH[0]!;
    const lo = HASH[1]!;
    for (let slot = lo & this.#mask;; slot = (slot + 1) & this.#mask) {
      if (this.#used[slot] === 0) return false;
      if (this.#lo[slot] === lo && this.#hi[slot] === hi) return true;
    }
  }

  #put(hi: number, lo: number): void {
    for (let slot = lo & this.#mask;; slot = (slot + 1) & this.#mask) {
      if (this.#used[slot] === 0) {
        this.#used[slot] = 1;
        this.#hi[slot] = hi;
        this.#lo[slot] = lo;
        this.#size++;
        return;
      }
      if (this.#lo[slot] === lo && this.#hi[slot] === hi) return;
    }
  }

  #grow(): void {
    const hi = this.#hi;
    const lo = this.#lo;
    const used = this.#used;
    const capacity = used.length * 2;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
    this.#size = 0;
    for (let i = 0; i < used.length; i++) if (used[i] === 1) this.#put(hi[i]!, lo[i]!);
  }
}
