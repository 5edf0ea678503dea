/**
 * A fast reader of a repository's Git objects: loose files and packs (with
 * ofs/ref deltas), plus `objects/info/alternates`. Reads only what it is
 * asked for and keeps recently read objects in a bounded cache.
 */
import { bytesToHex } from "../../util/bytes.ts";
import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { CorruptError } from "../../errors/mod.ts";
import { inflateZlib } from "../../util/inflate.ts";
import { applyDelta } from "./delta.ts";
import { PackIndex } from "./pack_index.ts";

export type ObjectType = "commit" | "tree" | "blob" | "tag";

export interface GitObject {
  readonly type: ObjectType;
  readonly data: Uint8Array;
}

const TYPES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const CACHE_BYTES = 64 * 1024 * 1024;
const MAX_DELTA_DEPTH = 10000;

interface Pack {
  readonly id: number;
  readonly path: string;
  readonly index: PackIndex;
  /**
   * The open pack file. Entries are read with synchronous positional reads:
   * an object is a few hundred bytes from the page cache, and a promise per
   * read cost more than the read itself (`exp show -A` reads tens of
   * thousands).
   */
  fd?: number;
}

function hexToBytes(hex: string): Uint8Array {
  return Buffer.from(hex, "hex");
}

function missing(oid: string): CorruptError {
  return new CorruptError(
    `Git object '${oid}' is missing or unreadable in the repository; run 'git fsck' to check it.`,
    { data: { oid } },
  );
}

export class ObjectStore {
  readonly #objectDirs: Promise<string[]>;
  #packs: Pack[] | undefined;
  #loading: Promise<Pack[]> | undefined;
  #packCount = 0;
  readonly #cache = new Map<string, GitObject>();
  #cacheBytes = 0;

  private constructor(gitdir: string) {
    this.#objectDirs = ObjectStore.#findObjectDirs(join(gitdir, "objects"));
  }

  /** A store over `gitdir`; call `close()` when done (it holds pack files open). */
  static open(gitdir: string): ObjectStore {
    return new ObjectStore(gitdir);
  }

  static async #findObjectDirs(primary: string): Promise<string[]> {
    const dirs = [primary];
    try {
      const text = await readFile(join(primary, "info", "alternates"), "utf8");
      for (const line of text.split("\n").map((l) => l.trim())) {
        if (line !== "" && !line.startsWith("#")) {
          dirs.push(isAbsolute(line) ? line : resolve(primary, line));
        }
      }
    } catch {
      // no alternates
    }
    return dirs;
  }

  async #loadPacks(): Promise<Pack[]> {
    const packs: Pack[] = [];
    for (const dir of await this.#objectDirs) {
      let names: string[];
      try {
        names = await readdir(join(dir, "pack"));
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.startsWith("pack-") || !name.endsWith(".idx")) continue;
        const packPath = join(dir, "pack", `${name.slice(0, -4)}.pack`);
        try {
          const [idx, info] = await Promise.all([
            readFile(join(dir, "pack", name)),
            stat(packPath),
          ]);
          packs.push({
            id: this.#packCount++,
            path: packPath,
            index: new PackIndex(idx, info.size, name),
          });
        } catch {
          // an index without its pack (being written or removed): skip it
        }
      }
    }
    return packs;
  }

  #remember(key: string, obj: GitObject): void {
    if (obj.data.length > CACHE_BYTES / 8) return;
    this.#cache.set(key, obj);
    this.#cacheBytes += obj.data.length;
    for (const [k, v] of this.#cache) {
      if (this.#cacheBytes <= CACHE_BYTES) break;
      this.#cache.delete(k);
      this.#cacheBytes -= v.data.length;
    }
  }

  async #readPacked(pack: Pack, offset: number, depth: number): Promise<GitObject> {
    const key = `${pack.id}@${offset}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    if (depth > MAX_DELTA_DEPTH) {
      throw new CorruptError(`The delta chain in '${pack.path}' is too deep.`);
    }
    const end = pack.index.entryEnd(offset);
    pack.fd ??= openSync(pack.path, "r");
    const buf = new Uint8Array(end - offset);
    const bytesRead = readSync(pack.fd, buf, 0, buf.length, offset);
    if (bytesRead !== buf.length) throw new CorruptError(`The pack '${pack.path}' is truncated.`);
    let i = 0;
    let byte = buf[i++]!;
    const typeCode = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 16;
    while (byte & 0x80) {
      byte = buf[i++]!;
      size += (byte & 0x7f) * shift;
      shift *= 128;
    }
    let base: GitObject | undefined;
    if (typeCode === 6) {
      byte = buf[i++]!;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        byte = buf[i++]!;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      base = await this.#readPacked(pack, offset - back, depth + 1);
    } else if (typeCode === 7) {
      const baseOid = bytesToHex(buf.subarray(i, i + 20));
      i += 20;
      base = await this.#read(baseOid, depth + 1);
      if (base === undefined) throw missing(baseOid);
    } else if (TYPES[typeCode] === undefined) {
      throw new CorruptError(`The pack '${pack.path}' has an entry of unknown type ${typeCode}.`);
    }
    let data: Uint8Array;
    try {
      data = inflateZlib(buf.subarray(i));
    } catch (e) {
      throw new CorruptError(`The pack '${pack.path}' has a corrupt entry at offset ${offset}.`, {
        cause: e,
      });
    }
    if (data.length !== size) {
      throw new CorruptError(`The pack '${pack.path}' has a corrupt entry at offset ${offset}.`);
    }
    const obj: GitObject = base === undefined
      ? { type: TYPES[typeCode]!, data }
      : { type: base.type, data: applyDelta(base.data, data) };
    this.#remember(key, obj);
    return obj;
  }

  async #readLoose(oid: string): Promise<GitObject | undefined> {
    for (const dir of await this.#objectDirs) {
      let raw: Uint8Array;
      try {
        raw = await readFile(join(dir, oid.slice(0, 2), oid.slice(2)));
      } catch {
        continue;
      }
      let full: Uint8Array;
      try {
        full = inflateZlib(raw);
      } catch (e) {
        throw new CorruptError(
          `Git object '${oid}' is corrupt; run 'git fsck' to check the repository.`,
          {
            cause: e,
          },
        );
      }
      const nul = full.indexOf(0);
      const header = new TextDecoder().decode(full.subarray(0, nul));
      const [type, size] = header.split(" ");
      const data = full.subarray(nul + 1);
      if (!["commit", "tree", "blob", "tag"].includes(type!) || Number(size) !== data.length) {
        throw new CorruptError(
          `Git object '${oid}' is corrupt; run 'git fsck' to check the repository.`,
        );
      }
      return { type: type as ObjectType, data };
    }
    return undefined;
  }

  async #read(oid: string, depth: number): Promise<GitObject | undefined> {
    const cached = this.#cache.get(oid);
    if (cached !== undefined) return cached;
    const raw = hexToBytes(oid);
    for (let attempt = 0; attempt < 2; attempt++) {
      for (const pack of await this.#currentPacks()) {
        const offset = pack.index.find(raw);
        if (offset >= 0) {
          const obj = await this.#readPacked(pack, offset, depth);
          this.#remember(oid, obj);
          return obj;
        }
      }
      const loose = await this.#readLoose(oid);
      if (loose !== undefined) {
        this.#remember(oid, loose);
        return loose;
      }
      // A pack may have arrived since we listed them: look once more.
      this.#closePacks();
      this.#packs = undefined;
    }
    return undefined;
  }

  /** The object, or undefined when the repository does not have it. */
  async tryRead(oid: string): Promise<GitObject | undefined> {
    return await this.#read(oid, 0);
  }

  /** The object; a missing or corrupt one is a CorruptError. */
  async read(oid: string): Promise<GitObject> {
    const obj = await this.#read(oid, 0);
    if (obj === undefined) throw missing(oid);
    return obj;
  }

  /** Whether the object exists (without reading it when it is in a pack). */
  async has(oid: string): Promise<boolean> {
    const raw = hexToBytes(oid);
    if ((await this.#currentPacks()).some((p) => p.index.find(raw) >= 0)) return true;
    for (const dir of await this.#objectDirs) {
      try {
        await stat(join(dir, oid.slice(0, 2), oid.slice(2)));
        return true;
      } catch {
        // not here
      }
    }
    this.#closePacks();
    this.#packs = undefined;
    return (await this.#currentPacks()).some((p) => p.index.find(raw) >= 0);
  }

  /**
   * The packs, listed once however many reads ask at the same time: two
   * lists would each open their own handles, and only one list is closed.
   */
  async #currentPacks(): Promise<Pack[]> {
    if (this.#packs !== undefined) return this.#packs;
    const loading = this.#loading ??= this.#loadPacks().finally(() => {
      if (this.#loading === loading) this.#loading = undefined;
    });
    const packs = await loading;
    this.#packs ??= packs;
    return this.#packs;
  }

  #closePacks(): void {
    for (const pack of this.#packs ?? []) {
      const fd = pack.fd;
      delete pack.fd;
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Releases open pack files (a promise, as callers await it). */
  close(): Promise<void> {
    this.#closePacks();
    this.#cache.clear();
    this.#cacheBytes = 0;
    return Promise.resolve();
  }
}
