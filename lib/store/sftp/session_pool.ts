/**
 * A few SFTP sessions shared by every call of one store, opened lazily and
 * reopened after one dies. A session that cannot be opened for a permanent
 * reason (authentication, unknown host, no SFTP) is remembered: every later
 * call fails at once with the same error instead of starting ssh again.
 */
import { isTransient } from "../errors.ts";
import type { SftpSession } from "./ssh_session.ts";

export class SessionPool {
  readonly #open: () => Promise<SftpSession>;
  readonly #slots: (Promise<SftpSession> | undefined)[];
  #turn = 0;
  #fatal: unknown;
  #closed = false;

  /** `size` sessions at most; calls are spread over them in turn. */
  constructor(open: () => Promise<SftpSession>, size: number) {
    this.#open = open;
    this.#slots = new Array(Math.max(1, size)).fill(undefined);
  }

  /** A live session, started (or restarted) when needed. */
  async acquire(): Promise<SftpSession> {
    const index = this.#turn;
    this.#turn = (this.#turn + 1) % this.#slots.length;
    for (;;) {
      if (this.#fatal !== undefined) throw this.#fatal;
      if (this.#closed) throw new Error("the SFTP store is closed");
      let current = this.#slots[index];
      if (current === undefined) current = this.#slots[index] = this.#start(index);
      const session = await current; // an open failure goes to the caller (the retry wrapper)
      if (session.alive) return session;
      // Dead: the first caller to notice clears the slot; everyone then takes the replacement.
      if (this.#slots[index] === current) this.#slots[index] = undefined;
    }
  }

  #start(index: number): Promise<SftpSession> {
    const started = this.#open();
    started.catch((error) => {
      if (this.#slots[index] === started) this.#slots[index] = undefined;
      if (!isTransient(error)) this.#fatal = error;
    });
    return started;
  }

  /** Closes every session; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots];
    this.#slots.fill(undefined);
    await Promise.all(slots.map(async (slot) => {
      const session = await slot?.catch(() => undefined);
      await session?.close();
    }));
  }
}
