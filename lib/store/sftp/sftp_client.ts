/**
 * An SFTP version 3 client over any byte channel (here: an ssh process's
 * stdin/stdout). Requests carry ids, so any number of them can be in flight
 * at once and the server answers each by id; callers pipeline simply by not
 * awaiting one request before sending the next.
 */
import {
  encodePacket,
  type Field,
  type FileAttrs,
  FX,
  FXP,
  getU32,
  PacketReader,
} from "./packet.ts";
import { concatBytes } from "../../util/bytes.ts";

/** A failed request: the server's SSH_FX_* status and its message. */
export class SftpStatusError extends Error {
  readonly status: number;
  /** The errno the status stands for (ENOENT, EACCES…), for shared error classification. */
  readonly code: string | undefined;
  constructor(status: number, serverMessage: string) {
    super(serverMessage === "" ? `SFTP status ${status}` : serverMessage);
    this.status = status;
    this.code = STATUS_ERRNO[status];
  }
}

const STATUS_ERRNO: Record<number, string> = {
  [FX.NO_SUCH_FILE]: "ENOENT",
  [FX.PERMISSION_DENIED]: "EACCES",
  [FX.NO_CONNECTION]: "ECONNRESET",
  [FX.CONNECTION_LOST]: "ECONNRESET",
};

/** One entry of a directory listing. */
export interface DirEntry {
  readonly name: string;
  readonly attrs: FileAttrs;
}

type Reply = { type: number; reader: PacketReader };

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/** Where packets go: the channel writes them in call order. */
export type PacketSink = (packet: Uint8Array) => void;

/** Largest packet accepted from a server (OpenSSH's own limit is 256 KiB). */
const MAX_PACKET = 4 * 1024 * 1024;

export class SftpClient {
  readonly #send: PacketSink;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: Error | undefined;
  #version: ((reply: PacketReader) => void) | undefined;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Extensions the server announced in VERSION (name → data). */
  readonly extensions = new Map<string, string>();
  /** Largest READ and WRITE lengths the server accepts, once {@link loadLimits} learnt them. */
  limits: { readonly read: number; readonly write: number } | undefined;

  constructor(send: PacketSink) {
    this.#send = send;
  }

  /** Sends INIT and waits for the server's VERSION. */
  handshake(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#version = (reader) => {
        // A malformed VERSION must fail the handshake, not leave it waiting forever.
        try {
          const version = reader.u32();
          while (reader.remaining > 0) this.extensions.set(reader.text(), reader.text());
          if (version < 3) reject(new Error(`the server speaks SFTP version ${version}, not 3`));
          else resolve();
        } catch (error) {
          reject(error as Error);
          throw error;
        }
      };
      this.#pending.set(0, { resolve: () => undefined, reject });
      this.#send(encodePacket(FXP.INIT, undefined, [{ u32: 3 }]));
    });
  }

  /** Why the session ended, once it has. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Number of requests waiting for an answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Feeds bytes read from the channel. */
  receive(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 4) {
      const length = getU32(this.#peek(4), 0);
      if (length < 1 || length > MAX_PACKET) {
        this.fail(new Error(`the server sent a malformed SFTP packet (length ${length})`));
        return;
      }
      if (this.#buffered < 4 + length) return;
      const packet = this.#take(4 + length);
      this.#dispatch(packet.subarray(4));
    }
  }

  /** The first `count` buffered bytes, joining only the chunks a packet spans. */
  #peek(count: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= count) return first;
    let parts = 1;
    for (let have = first.length; have < count; parts++) have += this.#chunks[parts]!.length;
    const spanned = this.#chunks.slice(0, parts);
    const joined = concatBytes(spanned, spanned.reduce((sum, chunk) => sum + chunk.length, 0));
    this.#chunks.splice(0, parts, joined);
    return joined;
  }

  #take(count: number): Uint8Array {
    const whole = this.#peek(count);
    const rest = whole.subarray(count);
    if (rest.length === 0) this.#chunks.shift();
    else this.#chunks[0] = rest;
    this.#buffered -= count;
    return whole.subarray(0, count);
  }

  #dispatch(payload: Uint8Array): void {
    const reader = new PacketReader(payload);
    try {
      const type = reader.u8();
      if (type === FXP.VERSION) {
        this.#pending.delete(0);
        this.#version?.(reader);
        return;
      }
      const id = reader.u32();
      // Id 0 stands for INIT, which only VERSION answers.
      const pending = id === 0 ? undefined : this.#pending.get(id);
      if (!pending) throw new Error(`the server answered unknown request ${id}`);
      this.#pending.delete(id);
      pending.resolve({ type, reader });
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Ends the session: every pending and later request fails with `error`. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
  }

  #request(type: number, fields: readonly Field[]): Promise<Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    const packet = encodePacket(type, id, fields);
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send(packet);
    });
  }

  async #status(type: number, fields: readonly Field[]): Promise<void> {
    const reply = await this.#request(type, fields);
    expectStatus(reply);
  }

  async #handle(type: number, fields: readonly Field[]): Promise<Uint8Array> {
    const reply = await this.#request(type, fields);
    if (reply.type !== FXP.HANDLE) throw unexpected(reply);
    return reply.reader.bytes().slice();
  }

  async #attrs(type: number, fields: readonly Field[]): Promise<FileAttrs> {
    const reply = await this.#request(type, fields);
    if (reply.type !== FXP.ATTRS) throw unexpected(reply);
    return reply.reader.attrs();
  }

  open(path: string, flags: number, attrs: FileAttrs = {}): Promise<Uint8Array> {
    return this.#handle(FXP.OPEN, [{ str: path }, { u32: flags }, { attrs }]);
  }

  close(handle: Uint8Array): Promise<void> {
    return this.#status(FXP.CLOSE, [{ str: handle }]);
  }

  /** Up to `length` bytes at `offset`; null at end of file. May return fewer bytes. */
  async read(handle: Uint8Array, offset: number, length: number): Promise<Uint8Array | null> {
    const reply = await this.#request(FXP.READ, [{ str: handle }, { u64: offset }, {
      u32: length,
    }]);
    if (reply.type === FXP.DATA) return reply.reader.bytes();
    const status = statusOf(reply);
    if (status.status === FX.EOF) return null;
    throw status;
  }

  write(handle: Uint8Array, offset: number, data: Uint8Array): Promise<void> {
    return this.#status(FXP.WRITE, [{ str: handle }, { u64: offset }, { str: data }]);
  }

  stat(path: string): Promise<FileAttrs> {
    return this.#attrs(FXP.STAT, [{ str: path }]);
  }

  /** Like {@link stat}, but undefined for a missing path (no error object built for it). */
  async statIfExists(path: string): Promise<FileAttrs | undefined> {
    const reply = await this.#request(FXP.STAT, [{ str: path }]);
    if (reply.type === FXP.ATTRS) return reply.reader.attrs();
    if (reply.type !== FXP.STATUS) throw unexpected(reply);
    const code = reply.reader.u32();
    if (code === FX.NO_SUCH_FILE) return undefined;
    throw statusRest(code, reply);
  }

  lstat(path: string): Promise<FileAttrs> {
    return this.#attrs(FXP.LSTAT, [{ str: path }]);
  }

  fstat(handle: Uint8Array): Promise<FileAttrs> {
    return this.#attrs(FXP.FSTAT, [{ str: handle }]);
  }

  setstat(path: string, attrs: FileAttrs): Promise<void> {
    return this.#status(FXP.SETSTAT, [{ str: path }, { attrs }]);
  }

  fsetstat(handle: Uint8Array, attrs: FileAttrs): Promise<void> {
    return this.#status(FXP.FSETSTAT, [{ str: handle }, { attrs }]);
  }

  opendir(path: string): Promise<Uint8Array> {
    return this.#handle(FXP.OPENDIR, [{ str: path }]);
  }

  /** The next entries of an open folder; null once all were read. */
  async readdir(handle: Uint8Array): Promise<DirEntry[] | null> {
    const reply = await this.#request(FXP.READDIR, [{ str: handle }]);
    if (reply.type === FXP.NAME) {
      const count = reply.reader.u32();
      const entries: DirEntry[] = [];
      for (let i = 0; i < count; i++) {
        const name = reply.reader.text();
        reply.reader.bytes(); // longname, as `ls -l` shows it
        entries.push({ name, attrs: reply.reader.attrs() });
      }
      return entries;
    }
    const status = statusOf(reply);
    if (status.status === FX.EOF) return null;
    throw status;
  }

  mkdir(path: string, attrs: FileAttrs = {}): Promise<void> {
    return this.#status(FXP.MKDIR, [{ str: path }, { attrs }]);
  }

  remove(path: string): Promise<void> {
    return this.#status(FXP.REMOVE, [{ str: path }]);
  }

  rmdir(path: string): Promise<void> {
    return this.#status(FXP.RMDIR, [{ str: path }]);
  }

  /** Plain SFTP rename: fails when `to` exists (OpenSSH links then unlinks). */
  rename(from: string, to: string): Promise<void> {
    return this.#status(FXP.RENAME, [{ str: from }, { str: to }]);
  }

  /** rename(2) semantics, atomically replacing `to`; needs `posix-rename@openssh.com`. */
  posixRename(from: string, to: string): Promise<void> {
    return this.#status(FXP.EXTENDED, [
      { str: "posix-rename@openssh.com" },
      { str: from },
      { str: to },
    ]);
  }

  async realpath(path: string): Promise<string> {
    const reply = await this.#request(FXP.REALPATH, [{ str: path }]);
    if (reply.type !== FXP.NAME) throw unexpected(reply);
    if (reply.reader.u32() < 1) throw new Error("the server sent an empty REALPATH answer");
    return reply.reader.text();
  }

  /** Asks for the server's request size limits when it offers `limits@openssh.com`. */
  async loadLimits(): Promise<void> {
    if (!this.extensions.has("limits@openssh.com")) return;
    const reply = await this.#request(FXP.EXTENDED, [{ str: "limits@openssh.com" }]);
    if (reply.type !== FXP.EXTENDED_REPLY) throw unexpected(reply);
    const packet = reply.reader.u64();
    const read = reply.reader.u64();
    const write = reply.reader.u64();
    // 0 means "no limit" for a length; the packet limit (minus headers) still holds.
    const cap = packet > 1024 ? packet - 1024 : Number.MAX_SAFE_INTEGER;
    this.limits = { read: read || cap, write: write || cap };
  }

  /** Free bytes for unprivileged users on the file system of `path` (`statvfs@openssh.com`). */
  async freeBytes(path: string): Promise<number> {
    const reply = await this.#request(FXP.EXTENDED, [
      { str: "statvfs@openssh.com" },
      { str: path },
    ]);
    if (reply.type !== FXP.EXTENDED_REPLY) throw unexpected(reply);
    reply.reader.u64(); // f_bsize
    const fragmentSize = reply.reader.u64();
    reply.reader.u64(); // f_blocks
    reply.reader.u64(); // f_bfree
    return reply.reader.u64() * fragmentSize; // f_bavail × f_frsize
  }
}

function statusOf(reply: Reply): SftpStatusError {
  if (reply.type !== FXP.STATUS) return unexpected(reply);
  return statusRest(reply.reader.u32(), reply);
}

function statusRest(code: number, reply: Reply): SftpStatusError {
  const message = reply.reader.remaining >= 4 ? reply.reader.text() : "";
  return new SftpStatusError(code, message);
}

function expectStatus(reply: Reply): void {
  // Most answers are OK: read the code first so no Error (and stack trace) is built for them.
  if (reply.type !== FXP.STATUS) throw unexpected(reply);
  const code = reply.reader.u32();
  if (code !== FX.OK) throw statusRest(code, reply);
}

function unexpected(reply: Reply): SftpStatusError {
  if (reply.type === FXP.STATUS) return statusOf(reply);
  return new SftpStatusError(FX.BAD_MESSAGE, `unexpected SFTP reply type ${reply.type}`);
}
