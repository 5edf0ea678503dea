/**
 * Every thread the code starts from the compiled binary is an entry point
 * of every build command: a build without one still runs, but silently on
 * one thread, so nothing else would notice it missing.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** The bundle paths (`./lib/…`) the code loads workers from inside the binary. */
function workerEntries(): string[] {
  const found = new Set<string>();
  const files = readdirSync(join(ROOT, "lib"), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"));
  for (const name of files) {
    const text = readFileSync(join(ROOT, "lib", name), "utf8");
    for (
      const match of text.matchAll(/includes\("\/\$bunfs\/"\)\) return "\.\/(lib\/[^"]+\.ts)"/g)
    ) {
      found.add(match[1]!);
    }
  }
  return [...found].sort();
}

Deno.test("every worker the binary starts is an entry point of each build command", () => {
  const entries = workerEntries();
  assert.deepEqual(entries, ["lib/cache/checkout_worker.ts", "lib/store/copy_worker.ts"]);
  const tasks = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks as Record<
    string,
    string
  >;
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const builds = [
    ...Object.values(tasks).filter((task) => task.includes("bun build")),
    ...readme.split("\n").filter((line) => line.includes("bun build")),
  ];
  assert.ok(builds.length >= 4, "the build and test tasks and the README's cross builds");
  for (const build of builds) {
    for (const entry of entries) assert.ok(build.includes(` ${entry} `), `${entry} in: ${build}`);
  }
  for (const entry of entries) {
    readFileSync(join(ROOT, entry)); // the entry exists where the bundle path says
  }
});
