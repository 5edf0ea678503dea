import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const SHA_RE = /^[0-9a-f]{40}$/;

/**
 * Reads every ref under `prefix` (e.g. `refs/exps/`, or `refs/` for all)
 * straight from the Git directory: `packed-refs` first, loose files override,
 * as git resolves them. Symbolic refs (other than HEAD) are skipped. Much
 * faster than one resolve per ref when there are hundreds of experiments.
 */
export async function readRefs(gitdir: string, prefix = "refs/"): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  for (const [name, oid] of await readPackedRefs(gitdir)) {
    if (name.startsWith(prefix)) refs.set(name, oid);
  }
  const top = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix.slice(0, prefix.lastIndexOf("/"));
  await walkLoose(gitdir, top, async (name, text) => {
    if (!name.startsWith(prefix)) return;
    const value = text.trim();
    if (SHA_RE.test(value)) refs.set(name, value);
  });
  return refs;
}

/** `packed-refs` as ref → SHA (peeled `^` lines are ignored). */
export async function readPackedRefs(gitdir: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(join(gitdir, "packed-refs"), "utf8");
  } catch {
    return refs;
  }
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#") || line.startsWith("^")) continue;
    const space = line.indexOf(" ");
    const oid = line.slice(0, space);
    if (SHA_RE.test(oid)) refs.set(line.slice(space + 1).trim(), oid);
  }
  return refs;
}

/** HEAD: the branch it points at (if symbolic) and the commit SHA (if any). */
export async function readHead(
  gitdir: string,
): Promise<{ branchRef: string | undefined; oid: string | undefined }> {
  const text = (await readFile(join(gitdir, "HEAD"), "utf8")).trim();
  if (text.startsWith("ref: ")) {
    const branchRef = text.slice(5).trim();
    return { branchRef, oid: await readRef(gitdir, branchRef) };
  }
  return { branchRef: undefined, oid: SHA_RE.test(text) ? text : undefined };
}

/** Resolves one ref name (following symbolic refs) to a SHA, or undefined. */
export async function readRef(gitdir: string, ref: string, depth = 0): Promise<string | undefined> {
  if (depth > 5) return undefined;
  try {
    const text = (await readFile(join(gitdir, ref), "utf8")).trim();
    if (text.startsWith("ref: ")) return readRef(gitdir, text.slice(5).trim(), depth + 1);
    if (SHA_RE.test(text)) return text;
  } catch {
    // not a loose ref: look in packed-refs
  }
  return (await readPackedRefs(gitdir)).get(ref);
}

async function walkLoose(
  gitdir: string,
  relDir: string,
  visit: (name: string, text: string) => Promise<void>,
): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(gitdir, relDir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const rel = `${relDir}/${entry.name}`;
    if (entry.isDirectory()) {
      await walkLoose(gitdir, rel, visit);
    } else if (entry.isFile() && !entry.name.endsWith(".lock")) {
      await visit(rel, await readFile(join(gitdir, rel), "utf8"));
    }
  }
}
