import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, scratch } from "./helpers/tmp.ts";

/** Runs in a child process whose open-file limit is 256. */
const CHILD = (lib: string) => `
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { transfer } from "${lib}/transfer/queue.ts";
import { openLocalStore } from "${lib}/store/local.ts";
import { openCache } from "${lib}/cache/cache.ts";
import { objectKey } from "${lib}/core/object_key.ts";
import { hashBytes } from "${lib}/util/object_hasher.ts";

const dir = Deno.args[0];
await mkdir(join(dir, "work"));
const items = [];
for (let i = 0; i < 3000; i++) {
  const bytes = new TextEncoder().encode("object number " + i + "\\n".repeat(i % 50));
  const hash = hashBytes(bytes);
  const localPath = join(dir, "work", String(i));
  await writeFile(localPath, bytes);
  items.push({ key: objectKey(hash, "md5"), localPath, size: bytes.length,
    expect: { hash, scheme: "md5" }, direction: "upload" });
}
const remote = openLocalStore(join(dir, "remote"));
const up = await transfer(items, { store: remote, jobs: 64 });
const cache = openCache({ dir: join(dir, "cache"), shared: "group" });
const down = await transfer(
  items.map((item) => ({ ...item, direction: "download",
    localPath: cache.objectPath(item.expect.hash, "md5") })),
  { store: remote, jobs: 64, beforeDownload: cache.beforeDownload, afterDownload: cache.afterDownload },
);
console.log(JSON.stringify({
  up: [up.done.length, up.failed.length, up.skipped.length],
  down: [down.done.length, down.failed.length, down.skipped.length],
  firstError: String(up.failed[0]?.error ?? down.failed[0]?.error ?? ""),
}));
`;

Deno.test("transfer() moves 3000 objects each way with 64 jobs under `ulimit -n 256`", async () => {
  const { dir, cleanup } = await scratch("dxp-fd-budget-");
  try {
    const lib = new URL("../lib", import.meta.url).href;
    const script = join(dir, "child.ts");
    await writeFile(script, CHILD(lib));
    // The runtime goes in through the environment: Deno rewrites arguments equal to its own path.
    const result = run("sh", [
      "-c",
      'ulimit -n 256 && exec "$DXP_TEST_DENO" run -A --no-check "$0" "$1"',
      script,
      dir,
    ], { env: { PATH: "/usr/bin:/bin", DXP_TEST_DENO: Deno.execPath(), NO_COLOR: "1" } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      up: [3000, 0, 0],
      down: [3000, 0, 0],
      firstError: "",
    });
  } finally {
    await cleanup();
  }
});
