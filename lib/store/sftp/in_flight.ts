/**
 * A bounded set of requests in flight for one transfer: `add` waits for a
 * free slot, the first failure is kept and stops further adds, `drain` waits
 * for everything sent so far. Failed requests never become unhandled
 * rejections.
 */
export class InFlight {
  readonly #limit: number;
  #count = 0;
  #error: { value: unknown } | undefined;
  #wake: (() => void) | undefined;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Requests not answered yet. */
  get pending(): number {
    return this.#count;
  }

  /** The first failure, if any. */
  get error(): { value: unknown } | undefined {
    return this.#error;
  }

  /** Waits until fewer than `limit` requests are in flight (or one failed). */
  async slot(): Promise<void> {
    while (this.#count >= this.#limit && this.#error === undefined) await this.#changed();
  }

  /** Tracks `request`; `onDone` runs with its value when it succeeds. */
  track<T>(request: Promise<T>, onDone?: (value: T) => void): void {
    this.#count++;
    request.then(
      (value) => {
        this.#count--;
        if (this.#error === undefined) {
          try {
            onDone?.(value);
          } catch (error) {
            this.fail(error);
          }
        }
        this.#notify();
      },
      (error) => {
        this.#count--;
        this.fail(error);
        this.#notify();
      },
    );
  }

  /** Records a failure (the first one wins) and wakes waiters. */
  fail(error: unknown): void {
    this.#error ??= { value: error };
    this.#notify();
  }

  /** Waits for every tracked request to settle. */
  async drain(): Promise<void> {
    while (this.#count > 0) await this.#changed();
  }

  /** Resolves at the next settle or failure. */
  changed(): Promise<void> {
    return this.#changed();
  }

  #changed(): Promise<void> {
    return new Promise<void>((resolve) => {
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
