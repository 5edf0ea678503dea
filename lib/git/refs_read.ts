import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

const OID_RE = /^[0-9a-f]{40}$/;

/** `packed-refs` as ref → SHA (peeled `^` lines skipped). */
export async function readPackedRefs(gitdir: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(join(gitdir, "packed-refs"), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return refs;
    throw e;
  }
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#") || line.startsWith("^")) continue;
    const oid = line.slice(0, 40);
    if (OID_RE.test(oid) && line[40] === " ") refs.set(line.slice(41), oid);
  }
  return refs;
}

/** The SHA in a loose ref file, or undefined (absent, symbolic, or not a SHA). */
export async function readLooseRef(gitdir: string, ref: string): Promise<string | undefined> {
  try {
    return looseOid(await readFile(join(gitdir, ref), "utf8"));
  } catch (e) {
    return absentRef(e);
  }
}

function looseOid(content: string): string | undefined {
  const text = content.trim();
  return OID_RE.test(text) ? text : undefined;
}

/** A ref file that is not there (or is a folder) reads as no ref; other errors are real. */
function absentRef(e: unknown): undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
  throw e;
}

/**
 * Every ref under `prefix` (e.g. `refs/exps/`, or `refs/` for all) straight
 * from the Git directory, loose over packed as git resolves them, sorted by
 * name. Symbolic refs are skipped. Much faster than one resolve per ref when
 * there are hundreds of experiments.
 */
export async function readRefs(gitdir: string, prefix = "refs/"): Promise<Map<string, string>> {
  const all = new Map<string, string>();
  for (const [ref, oid] of await readPackedRefs(gitdir)) {
    if (ref.startsWith(prefix)) all.set(ref, oid);
  }
  // Walk only the folder the prefix names, not the whole refs tree.
  const slash = prefix.lastIndexOf("/");
  const top = slash > 0 ? prefix.slice(0, slash) : "refs";
  walkLoose(gitdir, top, (ref, oid) => {
    if (ref.startsWith(prefix)) all.set(ref, oid);
  });
  return new Map([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One ref's SHA, following symbolic refs (`HEAD` → branch), or undefined. */
export async function readRef(gitdir: string, ref: string, depth = 0): Promise<string | undefined> {
  if (depth > 5) return undefined;
  const target = await symbolicTarget(gitdir, ref);
  if (target !== undefined) return readRef(gitdir, target, depth + 1);
  return (await readLooseRef(gitdir, ref)) ?? (await readPackedRefs(gitdir)).get(ref);
}

/** HEAD: the branch it points at (if symbolic) and the commit SHA (if any). */
export async function readHead(
  gitdir: string,
): Promise<{ branchRef: string | undefined; oid: string | undefined }> {
  const branchRef = await symbolicTarget(gitdir, "HEAD");
  if (branchRef !== undefined) return { branchRef, oid: await readRef(gitdir, branchRef) };
  return { branchRef: undefined, oid: await readLooseRef(gitdir, "HEAD") };
}

async function symbolicTarget(gitdir: string, ref: string): Promise<string | undefined> {
  try {
    const text = (await readFile(join(gitdir, ref), "utf8")).trim();
    return text.startsWith("ref: ") ? text.slice(5).trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Visits every loose ref under `dir`. Synchronous calls: a ref is 41 bytes,
 * and with 10,000 experiments a promise per file cost more than the reads.
 */
function walkLoose(
  gitdir: string,
  dir: string,
  visit: (ref: string, oid: string) => void,
): void {
  let entries;
  try {
    entries = readdirSync(join(gitdir, dir), { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw e;
  }
  for (const entry of entries) {
    const name = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walkLoose(gitdir, name, visit);
    else if (!entry.name.endsWith(".lock")) {
      const oid = readLooseRefSync(gitdir, name);
      if (oid !== undefined) visit(name, oid);
    }
  }
}

function readLooseRefSync(gitdir: string, ref: string): string | undefined {
  try {
    return looseOid(readFileSync(join(gitdir, ref), "utf8"));
  } catch (e) {
    return absentRef(e);
  }
}
