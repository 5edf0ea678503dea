/**
 * The floor of a checkout on this runtime: a compiled Bun program that does
 * nothing but place the files of a `.dir` manifest (one JSON.parse, one
 * mkdir per folder, one link or copy per file) — no options, no project,
 * no checks of the manifest, no state, no build-aside folder, one thread.
 * scale.ts times it beside `dxp checkout` and `cp`, to show what part of
 * dxp's time at 10,000 files the runtime's start and per-call cost leave.
 *
 *   floor_place <manifest> <cache files/md5 folder> <new output folder> <copy|link>
 */
import { copyFileSync, linkSync, mkdirSync, readFileSync } from "node:fs";
import process from "node:process";

const [manifest, cache, out, mode] = process.argv.slice(2);
if (manifest === undefined || cache === undefined || out === undefined) {
  console.error(
    "usage: floor_place <manifest> <cache files/md5 folder> <output folder> <copy|link>",
  );
  process.exit(2);
}
const place = mode === "link" ? linkSync : copyFileSync;
const entries = JSON.parse(readFileSync(manifest, "utf8")) as { md5: string; relpath: string }[];
const made = new Set<string>();
mkdirSync(out);
for (const { md5, relpath } of entries) {
  const slash = relpath.lastIndexOf("/");
  if (slash > 0) {
    const folder = relpath.slice(0, slash);
    if (!made.has(folder)) {
      mkdirSync(`${out}/${folder}`, { recursive: true });
      made.add(folder);
    }
  }
  place(`${cache}/${md5.slice(0, 2)}/${md5.slice(2)}`, `${out}/${relpath}`);
}
