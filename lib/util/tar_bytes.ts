/**
 * Exact-length reads from a stream of chunks of any size: what a tar reader
 * needs to take 512-byte headers and N-byte bodies without buffering more
 * than one incoming chunk.
 */
export class ChunkReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #ended = false;
  /** Bytes consumed so far (the offset of the next byte in the whole stream). */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Makes sure some unread bytes are at hand; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#ended) return false;
      const next = await this.#source.next();
      if (next.done) {
        this.#ended = true;
        return false;
      }
      this.#chunk = next.value;
      this.#pos = 0;
    }
    return true;
  }

  /**
   * Exactly `n` bytes, or fewer when the stream ends first (the caller
   * decides whether that is a truncation). Copies only when the bytes span
   * several incoming chunks.
   */
  async read(n: number): Promise<Uint8Array> {
    if (!(await this.#fill())) return new Uint8Array(0);
    if (this.#chunk.length - this.#pos >= n) {
      const out = this.#chunk.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      this.offset += n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n && (await this.#fill())) {
      const take = Math.min(n - filled, this.#chunk.length - this.#pos);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), filled);
      this.#pos += take;
      filled += take;
      this.offset += take;
    }
    return filled === n ? out : out.subarray(0, filled);
  }

  /**
   * Yields the next `n` bytes as views of the incoming chunks (valid until
   * the next read). Stops early when the stream ends; `remaining` tells.
   */
  async *take(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0 && (await this.#fill())) {
      const take = Math.min(left, this.#chunk.length - this.#pos);
      const out = this.#chunk.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      this.offset += take;
      left -= take;
      yield out;
    }
  }

  /** True when every byte was consumed and the stream has ended. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Stops the underlying stream (closes files, pipes). */
  async close(): Promise<void> {
    await this.#source.return?.();
  }
}
