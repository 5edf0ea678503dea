/**
 * Writing a standard Git bundle (v2): `# v2 git bundle`, one `-<oid>` line
 * per prerequisite commit (the receiver must already have it), one
 * `<oid> <refname>` line per ref, a blank line, then a pack holding every
 * object the refs need beyond the prerequisites. `git bundle verify` and
 * `git fetch FILE.bundle` read it. The pack is streamed object by object.
 */
import { createHash } from "node:crypto";
import { lazyBuiltin } from "../util/builtin.ts";
import { DxpError, ExitCode } from "../errors/mod.ts";
import { packEntryHeader } from "./pack/build_pack.ts";
import { ObjectStore } from "./pack/object_store.ts";
import { parseCommit, parseTree } from "./pack/object_parse.ts";
import { planObjects } from "./pack/objects_to_send.ts";

const zlib = lazyBuiltin<typeof import("node:zlib")>("node:zlib");

const TYPE_CODES: Record<string, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** What a bundle holds. */
export interface BundlePlan {
  /** Refs and the commits they name. */
  readonly refs: readonly { readonly ref: string; readonly oid: string }[];
  /** Commits the receiver must have: the boundary of what the pack carries. */
  readonly prerequisites: readonly string[];
  /** Objects in the pack, commits before their trees and blobs. */
  readonly objects: readonly string[];
}

/** Where the bundle's bytes go (`write` resolves once the chunk may be reused). */
export interface BundleSink {
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * Plans a bundle of `refs` for a receiver that has `haves` (commits; those
 * missing here are ignored): the objects it lacks, and as prerequisites the
 * commits the pack builds on — the parents of the commits it carries that
 * it does not carry, and refs whose commit the receiver already has. A
 * shallow repository that cannot carry a commit's history is an error.
 */
export async function planBundle(
  gitdir: string,
  refs: readonly { ref: string; oid: string }[],
  haves: readonly string[],
  store: ObjectStore,
): Promise<BundlePlan> {
  const tips = [...new Set(refs.map((r) => r.oid))];
  const plan = await planObjects(gitdir, tips, haves, { store });
  const edge = plan.shallowEdges[0];
  if (edge !== undefined) {
    throw new DxpError(
      "ShallowHistory",
      `Cannot export commit '${
        edge.slice(0, 7)
      }' without its history: this is a shallow clone; make it complete with 'git fetch --unshallow', or export with --since/--have naming commits the receiver has.`,
      ExitCode.failure,
      { data: { commit: edge } },
    );
  }
  const carried = new Set(plan.oids);
  const prerequisites = new Set<string>();
  for (const oid of plan.oids) {
    const object = await store.read(oid);
    if (object.type !== "commit") continue;
    for (const parent of parseCommit(oid, object.data).parents) {
      if (!carried.has(parent)) prerequisites.add(parent);
    }
  }
  const edges = new Set(prerequisites);
  for (const tip of tips) if (!carried.has(tip)) prerequisites.add(tip);
  // The walk counts only the trees of edge commits as present; the receiver has
  // every have's tree (git's --objects-edge-aggressive): an experiment next to
  // one it already has costs only what differs between the two.
  const present = new Set<string>();
  for (const have of new Set(haves)) {
    if (edges.has(have)) continue;
    const object = await store.tryRead(have);
    if (object?.type !== "commit") continue;
    await markTree(store, parseCommit(have, object.data).tree, present);
  }
  const objects = present.size === 0 ? plan.oids : plan.oids.filter((oid) => !present.has(oid));
  return { refs, prerequisites: [...prerequisites].sort(), objects };
}

/** Adds `tree` and everything below it to `present` (subtrees already there are skipped). */
async function markTree(store: ObjectStore, tree: string, present: Set<string>): Promise<void> {
  if (present.has(tree)) return;
  present.add(tree);
  const object = await store.tryRead(tree);
  if (object?.type !== "tree") return;
  for (const entry of parseTree(tree, object.data)) {
    if (entry.type === "tree") await markTree(store, entry.oid, present);
    else if (entry.type === "blob") present.add(entry.oid);
  }
}

/** The text before the pack: signature, prerequisites, refs, blank line. */
export function bundleHeader(plan: Pick<BundlePlan, "refs" | "prerequisites">): Uint8Array {
  let text = "# v2 git bundle\n";
  for (const oid of plan.prerequisites) text += `-${oid}\n`;
  for (const { ref, oid } of plan.refs) text += `${oid} ${ref}\n`;
  return new TextEncoder().encode(`${text}\n`);
}

/**
 * Streams the bundle of `plan` into `sink`: header, then a version-2 pack
 * of whole (undeltified) objects read one at a time from `store`. Returns
 * the number of bytes written.
 */
export async function writeBundle(
  plan: BundlePlan,
  store: ObjectStore,
  sink: BundleSink,
): Promise<number> {
  let bytes = 0;
  const put = async (chunk: Uint8Array) => {
    bytes += chunk.length;
    await sink.write(chunk);
  };
  await put(bundleHeader(plan));
  const hash = createHash("sha1");
  const packPut = async (chunk: Uint8Array) => {
    hash.update(chunk);
    await put(chunk);
  };
  const header = new Uint8Array(12);
  header.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(header.buffer).setUint32(8, plan.objects.length);
  await packPut(header);
  for (const oid of plan.objects) {
    const { type, data } = await store.read(oid);
    await packPut(packEntryHeader(TYPE_CODES[type]!, data.length));
    await packPut(new Uint8Array(zlib().deflateSync(data, { level: 1 })));
  }
  await put(new Uint8Array(hash.digest()));
  return bytes;
}
