/**
 * What an incremental export may leave out: `--since` earlier export files
 * (their experiments' commits, the commits they built on, the DVC objects
 * they carried) or Git revisions (commits the receiver has), and `--have`
 * files describing the receiver exactly.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "../../errors/mod.ts";
import { type GitCache, resolveRevision } from "../../git/revision.ts";
import {
  BLOCK,
  isZeroBlock,
  paddingAfter,
  parseHeader,
  parsePaxRecords,
} from "../../util/tar_header.ts";
import {
  type Manifest,
  MANIFEST_PATH,
  MANIFEST_SUM_PATH,
  memberKind,
  parseManifest,
} from "./export_format.ts";
import { findVolumes, readAt, type VolumeSet } from "./import_volumes.ts";
import { type Have, parseHave } from "./have.ts";

const MAX_MANIFEST = 1024 * 1024 * 1024;

/**
 * Reads the manifest of an export file by hopping from header to header
 * (member bodies are skipped, not read), and checks it against its
 * `sha256sum` line. Member checksums are not verified: the file only
 * describes what the receiver already got.
 */
export async function readExportManifest(set: VolumeSet): Promise<Manifest> {
  const bad = (why: string) =>
    new InvalidArgumentError(`'${set.label}' cannot be used with --since: ${why}.`);
  let pos = 0;
  let pax = new Map<string, string>();
  let manifest: Uint8Array | undefined;
  let sum: Uint8Array | undefined;
  for (;;) {
    const block = await readAt(set, pos, BLOCK);
    if (block.length < BLOCK) throw bad("it is truncated");
    if (isZeroBlock(block)) break;
    let header;
    try {
      header = parseHeader(block);
    } catch (error) {
      throw bad((error as Error).message);
    }
    const size = Number(pax.get("size") ?? header.size);
    const body = async () => {
      if (size > MAX_MANIFEST) throw bad("a header is too large");
      const bytes = await readAt(set, pos + BLOCK, size);
      if (bytes.length < size) throw bad("it is truncated");
      return bytes;
    };
    if (header.type === "x") {
      try {
        pax = parsePaxRecords(await body());
      } catch (error) {
        throw bad((error as Error).message);
      }
    } else {
      const path = pax.get("path") ?? header.name;
      pax = new Map();
      if (path === MANIFEST_PATH) manifest = await body();
      if (path === MANIFEST_SUM_PATH) sum = await body();
    }
    pos += BLOCK + size + paddingAfter(size);
  }
  if (manifest === undefined || sum === undefined) throw bad("it has no manifest");
  const digest = createHash("sha256").update(manifest).digest("hex");
  if (new TextDecoder().decode(sum) !== `${digest}  manifest.json\n`) {
    throw bad("its manifest does not match its checksum");
  }
  try {
    return parseManifest(manifest);
  } catch (error) {
    throw bad((error as Error).message);
  }
}

/** What the receiver is known to have. */
export interface Known {
  /** Commits it has (some may be unknown here; they are then ignored). */
  readonly commits: string[];
  /** Object keys (`files/md5/…`, `ab/…`) it has from earlier exports. */
  readonly objectKeys: Set<string>;
  /** Its whole cache, from a have file. */
  readonly have: Have | undefined;
}

/**
 * Resolves `--since` (export files, first volumes, or Git revisions) and
 * `--have` (a have file) into what the receiver has.
 */
export async function knownToReceiver(
  gitdir: string,
  since: readonly string[],
  havePath: string | undefined,
  cache: GitCache,
): Promise<Known> {
  const commits: string[] = [];
  const objectKeys = new Set<string>();
  for (const spec of since) {
    const set = await findVolumes(spec).catch(() => undefined);
    if (set === undefined) {
      let oid: string;
      try {
        oid = await resolveRevision(gitdir, spec, cache);
      } catch {
        throw new InvalidArgumentError(
          `--since '${spec}' is neither an export file nor a Git revision of this repository.`,
        );
      }
      commits.push(oid);
      continue;
    }
    const manifest = await readExportManifest(set);
    commits.push(...manifest.prerequisites, ...manifest.experiments.map((e) => e.sha));
    for (const member of manifest.members) {
      if (memberKind(member.path)?.kind === "object") objectKeys.add(member.path);
    }
  }
  let have: Have | undefined;
  if (havePath !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(havePath);
    } catch {
      throw new InvalidArgumentError(`The have file '${havePath}' cannot be read.`);
    }
    have = parseHave(bytes, havePath);
    commits.push(...have.commits);
  }
  return { commits: [...new Set(commits)], objectKeys, have };
}
