/**
 * Two clones push the same experiment name at once: both read the remote's
 * advertisement before either update lands. The race is made deterministic
 * by letting another git client push the ref between our advertisement and
 * our update (a fault injected into the transport; the remote is a real
 * bare repository and the other client is real git).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { expPush } from "../lib/engine/exp/push.ts";
import { renderExpPush } from "../lib/cli/render/exp_sync.ts";
import { openTransport } from "../lib/git/transport/registry.ts";
import type { Transport } from "../lib/git/transport/types.ts";
import { openProject } from "../lib/project/project.ts";
import { extractFixture, git, goldenEnv, scratch } from "./helpers/tmp.ts";

/** On 21f7f42 and not yet on the fixture's origin. */
const EXP_A = "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-a";
const EXP_A_SHA = "51b9b793253998bfb397b070cd4f583c6201160a";
/** typed-gulf's commit (already on origin): not an ancestor of exp-a's. */
const OTHER_SHA = "3f95182bd54ad6bd37a339e6c1e32c627a772fe5";

/** Opens the real transport; `beforeSend` runs after the advertisement was read, before our update. */
function racingTransport(
  env: Record<string, string>,
  cwd: string,
  beforeSend: () => void,
): (url: string) => Transport {
  return (url) => {
    const real = openTransport(url, { env, cwd, gitConfig: () => undefined });
    return {
      displayUrl: real.displayUrl,
      listRefs: (o) => real.listRefs(o),
      openFetch: (o) => real.openFetch(o),
      openPush: async (o) => {
        const session = await real.openPush(o);
        return {
          advertisement: session.advertisement,
          send: (updates, pack, options) => {
            beforeSend();
            return session.send(updates, pack, options);
          },
          close: () => session.close(),
        };
      },
    };
  };
}

async function raceOnce(theirs: string) {
  const { dir, cleanup } = await scratch("dxp-push-race-");
  const root = extractFixture("basic", dir);
  const repo = join(root, "repo");
  const origin = join(root, "origin.git");
  const env = goldenEnv(dir);
  // The other clone: real git pushing the same ref name with its own commit.
  const otherPush = () => git(["push", "-q", origin, `${theirs}:${EXP_A}`], repo, env);
  const project = openProject(repo, env);
  assert.throws(
    () => git(["rev-parse", "--verify", "-q", EXP_A], origin, env),
    "not on origin yet",
  );
  const result = await expPush(project, {
    gitRemote: "origin",
    names: [EXP_A], // full ref: the name alone would pick HEAD's exp-a
    openTransport: racingTransport(env, repo, otherPush),
  });
  const remote = git(["rev-parse", EXP_A], origin, env).trim();
  return { result, remote, cleanup };
}

Deno.test("exp push that loses a same-name race is told it diverged, and the winner's ref stays", async () => {
  const { result, remote, cleanup } = await raceOnce(OTHER_SHA);
  try {
    assert.equal(remote, OTHER_SHA, "nothing overwritten");
    assert.deepEqual(result.entries.map((e) => [e.name, e.status, e.reason]), [
      ["exp-a", "diverged", undefined],
    ]);
    const rendered = renderExpPush(result, true);
    assert.equal(rendered.exitCode, 1);
    assert.ok(
      rendered.stderr.startsWith(
        "Local experiment exp-a has diverged from remote experiment with the same name.\n",
      ),
      rendered.stderr,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("exp push that loses a race to the same commit reports it up to date", async () => {
  const { result, remote, cleanup } = await raceOnce(EXP_A_SHA);
  try {
    assert.equal(remote, EXP_A_SHA);
    assert.deepEqual(result.entries.map((e) => [e.name, e.status]), [["exp-a", "up_to_date"]]);
    assert.equal(renderExpPush(result, true).exitCode, 0);
  } finally {
    await cleanup();
  }
});
