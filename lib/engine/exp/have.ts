/**
 * What a repository has, for an incremental export (`dxp exp have -o HAVE`
 * here, `dxp exp export --have HAVE` at the sending site): the tips of its
 * refs and the ids of the DVC objects in its cache. Compact: 16 bytes per
 * object. The file:
 *
 *   dxp-have 1\n
 *   commits <n>\n   then n lines "<40 hex>\n"
 *   <section> <n>\n then n sorted 16-byte md5s, for each section of
 *                   files-md5, dirs-md5, files-md5-dos2unix, dirs-md5-dos2unix
 *   end <sha256 of every byte before this line>\n
 */
import { createHash } from "node:crypto";
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { type LocalCache, openCache } from "../../cache/mod.ts";
import { loadDvcConfig } from "../../project/dvc_config/mod.ts";
import type { Project } from "../../project/project.ts";
import { fileSink, streamSink } from "./export_sink.ts";
import { InvalidArgumentError } from "../../errors/mod.ts";
import { readHead, readRefs } from "../../git/refs_read.ts";
import type { HashScheme } from "../../util/object_hasher.ts";
import { isProtectedMode } from "../../store/local_verify.ts";
import { concatBytes } from "../../util/bytes.ts";

const MAGIC = "dxp-have 1";
const SECTIONS = ["files-md5", "dirs-md5", "files-md5-dos2unix", "dirs-md5-dos2unix"] as const;
type Section = typeof SECTIONS[number];

function sectionOf(scheme: HashScheme, isDir: boolean): Section {
  return `${isDir ? "dirs" : "files"}-${scheme}` as Section;
}

/** A set of object ids as sorted 16-byte md5s, searched by bisection. */
export class ObjectIdSet {
  constructor(readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.length / 16;
  }

  has(md5: string): boolean {
    const want = hexBytes(md5);
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareAt(this.bytes, mid * 16, want);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }

  static from(md5s: Iterable<string>): ObjectIdSet {
    const list = [...new Set(md5s)].sort();
    const bytes = new Uint8Array(list.length * 16);
    list.forEach((md5, i) => bytes.set(hexBytes(md5), i * 16));
    return new ObjectIdSet(bytes);
  }
}

/** What a receiving repository has. */
export interface Have {
  readonly commits: readonly string[];
  readonly objects: ReadonlyMap<Section, ObjectIdSet>;
}

/** True when `have` lists the object `oid` (with `.dir` for manifests) in `scheme`. */
export function haveObjectId(have: Have, oid: string, scheme: HashScheme): boolean {
  const isDir = oid.endsWith(".dir");
  return have.objects.get(sectionOf(scheme, isDir))?.has(oid.slice(0, 32)) ?? false;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function compareAt(bytes: Uint8Array, at: number, want: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const d = bytes[at + i]! - want[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Reads this repository's side: every ref's tip and HEAD, and every object
 * in the cache that is good (mode 0444 trusted, another mode re-hashed as
 * DVC does; temp files skipped).
 */
export async function collectHave(gitdir: string, cache: LocalCache): Promise<Have> {
  const commits = new Set((await readRefs(gitdir, "refs/")).values());
  const head = (await readHead(gitdir)).oid;
  if (head !== undefined) commits.add(head);
  const found = new Map<Section, string[]>(SECTIONS.map((s) => [s, []]));
  const scan = async (dir: string, scheme: HashScheme) => {
    for (const prefix of await names(dir, /^[0-9a-f]{2}$/)) {
      for (const rest of await names(join(dir, prefix), /^[0-9a-f]{30}(\.dir)?$/)) {
        const oid = `${prefix}${rest}`;
        const stats = await lstat(join(dir, prefix, rest)).catch(() => undefined);
        if (stats === undefined || !stats.isFile()) continue;
        if (!isProtectedMode(stats.mode) && !(await cache.has(oid, scheme))) continue;
        found.get(sectionOf(scheme, oid.endsWith(".dir")))!.push(oid.slice(0, 32));
      }
    }
  };
  await scan(cache.paths.files, "md5");
  await scan(cache.paths.root, "md5-dos2unix");
  return {
    commits: [...commits].sort(),
    objects: new Map(SECTIONS.map((s) => [s, ObjectIdSet.from(found.get(s)!)])),
  };
}

async function names(dir: string, pattern: RegExp): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of await opendir(dir)) {
      if (pattern.test(entry.name)) out.push(entry.name);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
  }
  return out.sort();
}

/** The have file's bytes. */
export function encodeHave(have: Have): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(`${MAGIC}\ncommits ${have.commits.length}\n`)];
  if (have.commits.length > 0) parts.push(enc.encode(have.commits.map((c) => `${c}\n`).join("")));
  for (const section of SECTIONS) {
    const set = have.objects.get(section) ?? new ObjectIdSet(new Uint8Array(0));
    parts.push(enc.encode(`${section} ${set.size}\n`), set.bytes);
  }
  const body = concatBytes(parts);
  const digest = createHash("sha256").update(body).digest("hex");
  return concatBytes([body, enc.encode(`end ${digest}\n`)]);
}

/** Parses a have file; anything malformed or damaged is an InvalidArgumentError naming `label`. */
export function parseHave(bytes: Uint8Array, label: string): Have {
  const bad = (why: string) =>
    new InvalidArgumentError(
      `'${label}' is not a usable have file (${why}); write it again with 'dxp exp have -o FILE' on the receiving side.`,
    );
  let at = 0;
  const line = () => {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0 || nl - at > 200) throw bad("it is truncated");
    const text = new TextDecoder().decode(bytes.subarray(at, nl));
    at = nl + 1;
    return text;
  };
  if (line() !== MAGIC) throw bad("it does not start with 'dxp-have 1'");
  const count = (text: string, key: string) => {
    const m = new RegExp(`^${key} (\\d+)$`).exec(text);
    if (m === null) throw bad(`'${key}' expected`);
    return Number(m[1]);
  };
  const commits: string[] = [];
  for (let n = count(line(), "commits"); n > 0; n--) {
    const oid = line();
    if (!/^[0-9a-f]{40}$/.test(oid)) throw bad("a commit line is malformed");
    commits.push(oid);
  }
  const objects = new Map<Section, ObjectIdSet>();
  for (const section of SECTIONS) {
    const size = count(line(), section) * 16;
    if (at + size > bytes.length) throw bad("it is truncated");
    objects.set(section, new ObjectIdSet(bytes.slice(at, at + size)));
    at += size;
  }
  const body = bytes.subarray(0, at);
  const end = line();
  const digest = createHash("sha256").update(body).digest("hex");
  if (end !== `end ${digest}` || at !== bytes.length) throw bad("its checksum does not match");
  return { commits, objects };
}

/** Where `exp have` writes: a file (replaced once complete) or a caller's stream. */
export type HaveOutput =
  | { readonly path: string }
  | { readonly write: (chunk: Uint8Array) => Promise<void> };

/**
 * `exp have`: writes what this repository has (ref tips, cached object ids)
 * for the sending site's `exp export --have`. Returns the counts.
 *
 * @example
 * const { commits, objects } = await expHave(openProject(".", process.env), { path: "site.have" });
 */
export async function expHave(
  project: Project,
  output: HaveOutput,
): Promise<{ commits: number; objects: number }> {
  const workspace = await loadDvcConfig({ dvcDir: project.dvcDir, env: project.env });
  const cache = openCache({
    dir: workspace.cacheDir ?? join(project.dvcDir, "cache"),
    shared: workspace.cacheShared,
  });
  const have = await collectHave(project.gitDir, cache);
  const sink = "path" in output ? await fileSink(output.path) : streamSink(output.write);
  try {
    await sink.write(encodeHave(have));
    await sink.finish();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  let objects = 0;
  for (const set of have.objects.values()) objects += set.size;
  return { commits: have.commits.length, objects };
}
