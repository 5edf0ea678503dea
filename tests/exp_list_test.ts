import assert from "node:assert/strict";
import { join } from "node:path";
import { expList } from "../lib/engine/exp/list.ts";
import { renderExpList } from "../lib/cli/render/exp_list.ts";
import { openProject } from "../lib/project/project.ts";
import { extractFixture, git, goldenEnv, scratch } from "./helpers/tmp.ts";
import { readGolden } from "./helpers/golden.ts";
import type { Transport } from "../lib/git/transport/types.ts";

const noTransport = (): Transport => {
  throw new Error("no remote expected");
};

/** Compares as DVC's goldens must be compared: same blocks, same lines in each block. */
function blocks(text: string): string[] {
  return text.split(/\n(?=\S)/).map((block) => block.split("\n").filter(Boolean).sort().join("\n"))
    .sort();
}

async function listText(
  repo: string,
  home: string,
  args: { all?: boolean; revs?: string[]; num?: number },
  format: "default" | "name-only" | "sha-only",
) {
  const project = openProject(repo, goldenEnv(home));
  const entries = await expList(project, {
    allCommits: args.all ?? false,
    revs: args.revs ?? [],
    num: args.num ?? 1,
    openTransport: noTransport,
  });
  return renderExpList(entries, format, false);
}

Deno.test("expList() matches DVC's local listings of the basic fixture", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const root = extractFixture("basic", dir);
    const repo = join(root, "repo");
    const cases: [string, Parameters<typeof listText>[2], "default" | "name-only" | "sha-only"][] =
      [
        ["exp-list", {}, "default"],
        ["exp-list_A", { all: true }, "default"],
        ["exp-list_A_name-only", { all: true }, "name-only"],
        ["exp-list_name-only", {}, "name-only"],
        ["exp-list_sha-only", {}, "sha-only"],
        ["exp-list_rev-B1", { revs: ["21f7f42d14aa43c823f2eb809f36b2453ef5d73b"] }, "default"],
      ];
    for (const [golden, args, format] of cases) {
      const expected = readGolden("basic", golden).stdout;
      const actual = await listText(repo, dir, args, format);
      assert.deepEqual(blocks(actual), blocks(expected), golden);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("expList() orders baselines from --rev expansion and names alphabetically", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = join(extractFixture("basic", dir), "repo");
    const text = await listText(repo, dir, { num: 2 }, "default");
    assert.equal(
      text,
      "main:\n\t3fb5796 [exp-a]\n\t3f95182 [typed-gulf]\n21f7f42:\n\t51b9b79 [exp-a]\n\t1f9cc14 [exp-b]\n",
    );
  } finally {
    await cleanup();
  }
});

Deno.test("expList() labels a baseline with a local tag before a branch", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = join(extractFixture("basic", dir), "repo");
    git(
      ["tag", "-a", "-m", "first", "v1", "21f7f42d14aa43c823f2eb809f36b2453ef5d73b"],
      repo,
      goldenEnv(dir),
    );
    git(["branch", "old", "21f7f42d14aa43c823f2eb809f36b2453ef5d73b"], repo);
    const text = await listText(repo, dir, { revs: ["old"] }, "default");
    assert.match(text, /^v1:\n/);
  } finally {
    await cleanup();
  }
});

Deno.test("expList() fails with DVC's message for an unknown --rev", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const repo = join(extractFixture("basic", dir), "repo");
    await assert.rejects(
      listText(repo, dir, { revs: ["nope"] }, "default"),
      /unknown Git revision 'nope'/,
    );
  } finally {
    await cleanup();
  }
});
