/**
 * The first half of `exp import`: read the whole archive once, checking
 * every member as it passes (name, type, md5 of DVC objects against their
 * names, the bundle's prerequisites against this repository), staging what
 * is new in a private folder under `.dvc/tmp`; at the end check the
 * manifest (present, its checksum, every member's size, and the sha256 of
 * every member but DVC objects, whose md5 was checked). Nothing outside the
 * staging folder changes here.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { LocalCache } from "../../cache/mod.ts";
import { oidDigest, parseObjectKey } from "../../core/object_key.ts";
import { DxpError, ExitCode } from "../../errors/mod.ts";
import { type BundleHeader, MAX_BUNDLE_HEADER, parseBundleHeader } from "../../git/bundle_read.ts";
import type { ObjectStore } from "../../git/pack/object_store.ts";
import { throwIfAborted } from "../../store/abort.ts";
import { createObjectHasher, type HashScheme } from "../../util/object_hasher.ts";
import { readTar, TarError } from "../../util/tar_read.ts";
import {
  type ArchiveProgress,
  type Manifest,
  memberKind,
  parseManifest,
  unsafeReason,
} from "./export_format.ts";
import { volumeAt, type VolumeSet } from "./import_volumes.ts";
import { collect, inCache, writeSmall, writeStaged } from "./import_write.ts";

/** A DVC object of the archive. */
export interface StagedObject {
  readonly key: string;
  readonly oid: string;
  readonly scheme: HashScheme;
  readonly isDir: boolean;
  readonly size: number;
  /** Its verified copy in the staging folder; undefined when the cache already had it. */
  readonly staged: string | undefined;
}

/** A fully read and verified archive. */
export interface StagedArchive {
  readonly manifest: Manifest;
  readonly bundle: BundleHeader;
  readonly bundlePath: string;
  readonly objects: readonly StagedObject[];
}

export interface StageOptions {
  readonly source: AsyncIterable<Uint8Array>;
  /** The file as the user named it (`-` for standard input). */
  readonly label: string;
  /** The volumes read, to say which one is at fault. */
  readonly volumes?: VolumeSet;
  readonly stagingDir: string;
  readonly cache: LocalCache;
  /** The repository's objects, for the prerequisites. */
  readonly gitStore: ObjectStore;
  readonly totalBytes: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ArchiveProgress) => void;
}

const MAX_MANIFEST = 1024 * 1024 * 1024;
/** Objects up to this size are read into one buffer and written in one call. */
const SMALL = 1024 * 1024;

/** An archive that cannot be imported: one line, nothing changed. */
export function refused(label: string, why: string): DxpError {
  const name = label === "-" ? "The standard input" : `'${label}'`;
  return new DxpError(
    "ImportRefused",
    `${name} cannot be imported: ${why}; nothing was imported.`,
    ExitCode.failure,
    { data: { label } },
  );
}

interface Seen {
  readonly path: string;
  readonly size: number;
  /** Undefined for DVC objects: their md5 was checked against their name instead. */
  readonly sha256: string | undefined;
  readonly start: number;
}

/** Reads, checks and stages the archive; see the module comment. */
export async function stageArchive(options: StageOptions): Promise<StagedArchive> {
  const { label, cache } = options;
  const where = (offset: number) =>
    options.volumes?.split ? ` (in volume '${volumeAt(options.volumes, offset)}')` : "";
  const seen: Seen[] = [];
  const paths = new Set<string>();
  const objects: StagedObject[] = [];
  let manifestBytes: Uint8Array | undefined;
  let sumBytes: Uint8Array | undefined;
  let bundle: BundleHeader | undefined;
  const bundlePath = join(options.stagingDir, "experiments.bundle");
  const made = new Set<string>();
  let done = 0;
  let doneBytes = 0;
  const report = () =>
    options.onProgress?.({
      phase: "importing",
      doneObjects: done,
      totalObjects: done,
      doneBytes,
      totalBytes: options.totalBytes,
    });

  const checkMd5 = (actual: string, oid: string, path: string, offset: number) => {
    if (actual !== oidDigest(oid)) {
      throw refused(label, `its member '${path}' is corrupt: its md5 is ${actual}${where(offset)}`);
    }
  };
  try {
    for await (const entry of readTar(options.source)) {
      throwIfAborted(options.signal);
      const path = entry.path;
      const unsafe = unsafeReason(path);
      if (unsafe !== undefined) throw refused(label, `its member '${path}' ${unsafe}`);
      if (entry.type === "directory") {
        if (/^(dxp|files|files\/md5|files\/md5\/[0-9a-f]{2}|[0-9a-f]{2})\/?$/.test(path)) continue;
        throw refused(label, `it has a folder '${path}' an export never holds`);
      }
      const kind = memberKind(path);
      if (kind === undefined) {
        throw refused(label, `it has a member '${path}' an export never holds`);
      }
      if (paths.has(path)) throw refused(label, `its member '${path}' appears twice`);
      if (sumBytes !== undefined) throw refused(label, `its member '${path}' follows its manifest`);
      paths.add(path);
      // A DVC object is checked against the md5 its name is (the identity DVC
      // and the cache go by); its sha256 would be a second pass over the same
      // bytes proving nothing more, so only the other members get one.
      const sha = kind.kind === "object" ? undefined : createHash("sha256");
      const counted = async function* () {
        for await (const chunk of entry.body()) {
          sha?.update(chunk);
          doneBytes += chunk.length;
          yield chunk;
        }
      };
      switch (kind.kind) {
        case "readme":
          for await (const _ of counted()) { /* only hashed */ }
          break;
        case "manifest":
        case "manifest-sum": {
          if (entry.size > MAX_MANIFEST) throw refused(label, `its member '${path}' is too large`);
          const bytes = await collect(counted());
          if (kind.kind === "manifest") manifestBytes = bytes;
          else sumBytes = bytes;
          break;
        }
        case "bundle": {
          await writeStaged(bundlePath, counted(), made);
          bundle = await readBundleHeader(bundlePath, entry.size, label);
          await checkPrerequisites(bundle, options.gitStore, label);
          break;
        }
        case "object": {
          const { oid, scheme } = parseObjectKey(path)!;
          const isDir = oid.endsWith(".dir");
          const hasher = createObjectHasher(isDir ? "md5" : scheme);
          const present = () => inCache(cache, oid, scheme, options.signal);
          // One flat folder: the cache's own folders are made once, when objects move in.
          let staged: string | undefined = join(options.stagingDir, path.replaceAll("/", "_"));
          if (entry.size <= SMALL) {
            // Small objects (most of them): one buffer, checked, then written
            // synchronously — thousands of async open/write/close round trips
            // through the thread pool cost more than the bytes.
            const bytes = await collect(counted());
            hasher.update(bytes);
            checkMd5(hasher.digest(), oid, path, entry.dataOffset);
            if (await present()) staged = undefined;
            else writeSmall(staged, bytes, made);
          } else {
            if (await present()) staged = undefined;
            const hashed = async function* () {
              for await (const chunk of counted()) {
                hasher.update(chunk);
                yield chunk;
              }
            };
            if (staged === undefined) {
              for await (const _ of hashed()) { /* only checked */ }
            } else {
              await writeStaged(staged, hashed(), made);
            }
            checkMd5(hasher.digest(), oid, path, entry.dataOffset);
          }
          objects.push({ key: path, oid, scheme, isDir, size: entry.size, staged });
          done++;
          break;
        }
      }
      seen.push({ path, size: entry.size, sha256: sha?.digest("hex"), start: entry.dataOffset });
      report();
    }
  } catch (error) {
    if (error instanceof TarError) throw refused(label, tarProblem(error, options.volumes));
    throw error;
  }

  if (manifestBytes === undefined || sumBytes === undefined) {
    throw refused(label, "it has no manifest (it is truncated, or not a dxp export)");
  }
  const digest = createHash("sha256").update(manifestBytes).digest("hex");
  if (new TextDecoder().decode(sumBytes) !== `${digest}  manifest.json\n`) {
    throw refused(label, "its manifest does not match its checksum");
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (error) {
    throw refused(label, (error as Error).message);
  }
  checkMembers(manifest, seen, label, where);
  if (bundle === undefined) throw refused(label, "it has no Git bundle");
  checkBundleMatches(manifest, bundle, label);
  return { manifest, bundle, bundlePath, objects };
}

/**
 * Every member the manifest lists, with its size and (except DVC objects,
 * whose names are their md5) its sha256 — and nothing else.
 */
function checkMembers(
  manifest: Manifest,
  seen: readonly Seen[],
  label: string,
  where: (offset: number) => string,
): void {
  const byPath = new Map(seen.map((s) => [s.path, s]));
  for (const member of manifest.members) {
    const got = byPath.get(member.path);
    if (got === undefined) {
      throw refused(label, `its member '${member.path}', listed in its manifest, is missing`);
    }
    const shaDiffers = got.sha256 !== undefined && got.sha256 !== member.sha256;
    if (got.size !== member.size || shaDiffers) {
      throw refused(
        label,
        `its member '${member.path}' is corrupt: it differs from the manifest's size and sha256${
          where(got.start)
        }`,
      );
    }
    byPath.delete(member.path);
  }
  for (const extra of byPath.values()) {
    const kind = memberKind(extra.path)?.kind;
    if (kind === "manifest" || kind === "manifest-sum") continue;
    throw refused(label, `its member '${extra.path}' is not in its manifest`);
  }
}

function checkBundleMatches(manifest: Manifest, bundle: BundleHeader, label: string): void {
  const a = manifest.experiments.map((e) => `${e.sha} ${e.ref}`).sort();
  const b = bundle.refs.map((r) => `${r.oid} ${r.ref}`).sort();
  const p = [...manifest.prerequisites].sort();
  const q = [...bundle.prerequisites].sort();
  if (a.join("\n") !== b.join("\n") || p.join("\n") !== q.join("\n")) {
    throw refused(label, "its Git bundle and its manifest name different experiments");
  }
}

/**
 * The commits the bundle builds on must all be here: that is what makes it a
 * file of this project (and of a state of it this clone has reached).
 */
async function checkPrerequisites(
  bundle: BundleHeader,
  store: ObjectStore,
  label: string,
): Promise<void> {
  if (bundle.prerequisites.length === 0) {
    throw refused(label, "its Git bundle builds on no commit of this project");
  }
  const missing: string[] = [];
  for (const oid of bundle.prerequisites) if (!(await store.has(oid))) missing.push(oid);
  if (missing.length === 0) return;
  const short = missing.slice(0, 3).map((oid) => oid.slice(0, 7)).join(", ");
  if (missing.length === bundle.prerequisites.length) {
    throw refused(
      label,
      `it was made for another project: none of the commits it builds on (${short}) is in this repository`,
    );
  }
  throw refused(
    label,
    `it builds on commit ${short}, which this repository does not have; update this clone, or export again with '--have' from 'dxp exp have'`,
  );
}

async function readBundleHeader(path: string, size: number, label: string): Promise<BundleHeader> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(Math.min(size, MAX_BUNDLE_HEADER));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return parseBundleHeader(buffer.subarray(0, bytesRead));
  } catch (error) {
    throw refused(label, (error as Error).message);
  } finally {
    await handle.close();
  }
}

function tarProblem(error: TarError, volumes: VolumeSet | undefined): string {
  if (error.kind === "unsafe") return `its ${error.message}`;
  if (error.kind !== "truncated") return `it is not a valid archive: ${error.message}`;
  if (volumes?.split) {
    const last = volumes.volumes[volumes.volumes.length - 1]!;
    const next = last.name.replace(/\d+$/, (d) => String(Number(d) + 1).padStart(d.length, "0"));
    const full = last.size === volumes.volumes[0]!.size;
    return full
      ? `it ends with volume '${last.name}': volume '${next}' is missing (or '${last.name}' is truncated)`
      : `its last volume '${last.name}' is truncated (or the volumes after it are missing)`;
  }
  return `it is truncated (${error.message})`;
}
