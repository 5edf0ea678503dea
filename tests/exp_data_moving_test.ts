import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createExpDataSync } from "../lib/engine/exp/data.ts";
import type { ExpSyncEntry } from "../lib/engine/exp/sync_types.ts";
import { localExpRefs } from "../lib/git/exp_refs.ts";
import { openProject } from "../lib/project/project.ts";
import { fixtureCopy } from "./helpers/fixture_repo.ts";

/** Object files under a local remote (none when it does not exist yet). */
function objectFiles(remote: string): string[] {
  if (!existsSync(remote)) return [];
  return readdirSync(remote, { recursive: true }).map(String)
    .filter((path) => /^files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}/.test(path));
}

Deno.test("exp data push tells onMoving once the existence checks are done and before any object is written", async () => {
  const fixture = await fixtureCopy("basic");
  try {
    const remote = join(fixture.root, "fresh-remote");
    writeFileSync(
      join(fixture.repo, ".dvc", "config.local"),
      `['remote "store"']\n    url = ${remote}\n`,
    );
    const project = openProject(fixture.repo, fixture.env);
    const exps: ExpSyncEntry[] = (await localExpRefs(project.gitDir)).map((exp) => ({
      ref: exp.ref,
      name: exp.name,
      baseline: exp.baseline,
      sha: exp.sha!,
      previousSha: undefined,
      status: "success",
      forced: false,
    }));
    assert.ok(exps.length > 0, "the fixture has experiments");
    const sync = await createExpDataSync(project);
    const seen: number[] = [];
    try {
      const report = await sync.push(exps, undefined, () => seen.push(objectFiles(remote).length));
      assert.ok(report.transferred > 0, "objects were uploaded");
    } finally {
      await sync.close();
    }
    assert.ok(seen.length > 0, "onMoving was told");
    assert.equal(seen[0], 0, "nothing was on the remote when the objects started to move");
    assert.ok(objectFiles(remote).length > 0);
  } finally {
    await fixture.cleanup();
  }
});
