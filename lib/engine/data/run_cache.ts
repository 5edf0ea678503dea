import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { RUN_CACHE_DIR } from "../../core/object_key.ts";
import { transfer, type TransferItem } from "../../transfer/mod.ts";
import type { DataRuntime } from "./runtime.ts";

/**
 * `--run-cache` (spec §3.7): every file under the local `runs/` goes to the
 * remote's `runs/` (overwritten, no existence check, as DVC does), or every
 * remote `runs/` file comes into the local cache. The remote is `-r`, else
 * the workspace's `core.remote` (none: DVC's "no remote specified" error).
 * An HTTP(S) remote cannot list, so it has no run cache: skipped, as DVC
 * does (spec §3.7).
 * Returns the number of files moved.
 */
export async function transferRunCache(
  rt: DataRuntime,
  direction: "upload" | "download",
): Promise<number> {
  const remote = rt.defaultRemote();
  if (remote.type === "http" || remote.type === "https") {
    rt.onDebug?.(
      `failed to ${direction === "upload" ? "push" : "pull"} run cache: ` +
        "run-cache is not supported for http filesystem",
    );
    return 0;
  }
  const { store } = await rt.storeFor(remote);
  const items: TransferItem[] = [];
  if (direction === "upload") {
    for (const path of await filesUnder(rt.cache.paths.runs)) {
      const key = `${RUN_CACHE_DIR}/${relative(rt.cache.paths.runs, path).split(sep).join("/")}`;
      items.push({ key, localPath: path, size: (await stat(path)).size, direction });
    }
  } else {
    for await (const key of store.list(`${RUN_CACHE_DIR}/`, rt.signal)) {
      const rel = key.slice(RUN_CACHE_DIR.length + 1);
      // Remote keys name local paths: only DVC's exact shape is accepted.
      if (!RUN_ENTRY.test(rel)) continue;
      items.push({
        key,
        localPath: join(rt.cache.paths.runs, ...rel.split("/")),
        size: 0,
        direction,
      });
    }
  }
  const report = await transfer(items, {
    store,
    ...(rt.jobsFor(remote) !== undefined ? { jobs: rt.jobsFor(remote)! } : {}),
    ...(rt.signal ? { signal: rt.signal } : {}),
  });
  if (report.stoppedBy) throw report.stoppedBy;
  return report.done.length;
}

/** `<key[0:2]>/<key>/<value>`, both SHA-256 hex (spec §3.7). */
const RUN_ENTRY = /^[0-9a-f]{2}\/[0-9a-f]{64}\/[0-9a-f]{64}$/;

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
