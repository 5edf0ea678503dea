/**
 * `mkdir -p` over SFTP, remembering which folders exist so that hundreds of
 * uploads into the same `files/md5/ab/` folders create each folder once.
 */
import { posix } from "node:path";
import { isDirectory } from "./packet.ts";
import type { SftpClient } from "./sftp_client.ts";
import { isGenericFailure, isNoSuchFile } from "./sftp_errors.ts";

export class RemoteDirs {
  readonly #known = new Set<string>();
  readonly #making = new Map<string, Promise<void>>();

  /** Creates `dir` and its missing parents (mode `0777 & ~umask` on the server). */
  ensure(client: SftpClient, dir: string): Promise<void> {
    if (this.#known.has(dir)) return Promise.resolve();
    let making = this.#making.get(dir);
    if (making === undefined) {
      making = this.#make(client, dir).finally(() => this.#making.delete(dir));
      this.#making.set(dir, making);
    }
    return making;
  }

  /** Forgets `dir` (someone removed it). */
  forget(dir: string): void {
    this.#known.delete(dir);
  }

  async #make(client: SftpClient, dir: string): Promise<void> {
    try {
      await client.mkdir(dir);
    } catch (error) {
      const parent = posix.dirname(dir);
      if (isNoSuchFile(error) && parent !== dir) {
        await this.ensure(client, parent);
        return this.#make(client, dir);
      }
      // OpenSSH answers EEXIST with the generic failure: fine when it is a folder.
      if (!isGenericFailure(error)) throw error;
      const attrs = await client.stat(dir).catch(() => undefined);
      if (attrs === undefined || !isDirectory(attrs)) throw error;
    }
    this.#known.add(dir);
  }
}
