import { lstat, mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import type { LocalCache } from "../../../cache/cache.ts";
import { runCacheKeyValue } from "../../../dvc/lock_entry.ts";
import type { PyDict } from "../../../dvc/py_value.ts";
import { emitYaml } from "../../../dvc/yaml_emit.ts";
import { tempNameFor } from "../../../store/local_write.ts";

/**
 * Records a stage's state in the run cache as DVC's `StageCache.save`:
 * `runs/<key[0:2]>/<key>/<value>` holding the stage's lock entry (without
 * its name) as YAML, written through a temporary file and renamed; an
 * entry already there is left alone. Returns the file's path.
 */
export async function writeRunCacheEntry(cache: LocalCache, entry: PyDict): Promise<string> {
  const { key, value } = runCacheKeyValue(entry);
  const dir = join(cache.paths.runs, key.slice(0, 2), key);
  const path = join(dir, value);
  if (await lstat(path).then(() => true, () => false)) return path;
  await cache.beforeDownload({ key: "", localPath: join(dir, "x") });
  await mkdir(dir, { recursive: true });
  const tmp = tempNameFor(path);
  try {
    await writeFile(tmp, emitYaml(entry), { mode: 0o666 & ~process.umask(), flag: "wx" });
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  return path;
}
