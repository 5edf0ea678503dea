/**
 * A quarantine for a bundle's pack, as `git receive-pack` keeps one: the
 * pack is stored in a private object folder under `objects/` whose
 * `info/alternates` names the repository's objects, checked there (every
 * object the refs need is in it or already here), and moved into
 * `objects/pack/` only when the import goes ahead. Until then nothing in
 * the repository changed.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CorruptError } from "../errors/mod.ts";
import { ObjectStore } from "./pack/object_store.ts";
import { planObjects } from "./pack/objects_to_send.ts";
import { storePack } from "./pack/store_pack.ts";

export class BundleQuarantine {
  readonly #gitdir: string;
  /** A Git-directory-like folder: `<q>/objects/{pack,info/alternates}`, `<q>/shallow`. */
  readonly dir: string;
  #store: ObjectStore | undefined;

  private constructor(gitdir: string, dir: string) {
    this.#gitdir = gitdir;
    this.dir = dir;
  }

  /** Creates an empty quarantine for the repository at `gitdir`. */
  static async open(gitdir: string): Promise<BundleQuarantine> {
    const dir = join(gitdir, "objects", `incoming-dxp-${randomBytes(6).toString("hex")}`);
    await mkdir(join(dir, "objects", "info"), { recursive: true });
    await writeFile(
      join(dir, "objects", "info", "alternates"),
      `${resolve(gitdir, "objects")}\n`,
    );
    // The walk must stop where this repository's history stops.
    await copyFile(join(gitdir, "shallow"), join(dir, "shallow")).catch(() => undefined);
    return new BundleQuarantine(gitdir, dir);
  }

  /** Stores and indexes `pack` here (a corrupt or thin pack throws, nothing kept). */
  async addPack(pack: Uint8Array): Promise<number> {
    await this.#closeStore();
    return (await storePack(this.dir, pack)).objects;
  }

  /** Reads objects of the quarantine and of the repository. */
  store(): ObjectStore {
    this.#store ??= ObjectStore.open(this.dir);
    return this.#store;
  }

  /**
   * Throws a CorruptError unless every object reachable from `tips` down to
   * `prerequisites` is here or in the repository.
   */
  async checkConnected(tips: readonly string[], prerequisites: readonly string[]): Promise<void> {
    const store = this.store();
    const plan = await planObjects(this.dir, tips, prerequisites, { store });
    for (const oid of plan.oids) {
      if (!(await store.has(oid))) {
        throw new CorruptError(`Git object '${oid}' the experiments need is missing`);
      }
    }
  }

  /** Moves the quarantined pack files into the repository (pack first, index last). */
  async promote(): Promise<void> {
    await this.#closeStore();
    const from = join(this.dir, "objects", "pack");
    const to = join(this.#gitdir, "objects", "pack");
    await mkdir(to, { recursive: true });
    const names = (await readdir(from).catch(() => [] as string[])).sort((a, b) =>
      rank(a) - rank(b)
    );
    for (const name of names) {
      const target = join(to, name);
      if (await exists(target)) continue; // the same pack, imported before
      await rename(join(from, name), target);
    }
  }

  /** Removes the quarantine. */
  async dispose(): Promise<void> {
    await this.#closeStore();
    await rm(this.dir, { recursive: true, force: true });
  }

  async #closeStore(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }
}

/** `.pack` before `.idx`: no reader may see an index without its pack. */
function rank(name: string): number {
  return name.endsWith(".idx") ? 1 : 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
