/**
 * The conformance suite every Git transport passes (ssh, local, http): real
 * git creates and verifies the repositories on both sides.
 */
import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { DxpError, GitRemoteError } from "../lib/errors/mod.ts";
import { buildPack } from "../lib/git/pack/build_pack.ts";
import { objectsToSend } from "../lib/git/pack/objects_to_send.ts";
import { storePack } from "../lib/git/pack/store_pack.ts";
import { fetchCommits } from "../lib/git/fetch_commits.ts";
import { fetchObjectsById } from "../lib/git/promisor.ts";
import { updateShallow } from "../lib/git/shallow.ts";
import { updateRefs } from "../lib/git/ref_write.ts";
import { openTransport } from "../lib/git/transport/registry.ts";
import type {
  RefUpdate,
  RefUpdateResult,
  Transport,
  TransportOptions,
} from "../lib/git/transport/types.ts";
import { ZERO_OID } from "../lib/git/transport/types.ts";
import {
  commitExp,
  commitExps,
  commitFiles,
  expRef,
  forEachRef,
  g,
  initRepo,
  packObjectCount,
} from "./helpers/git_repo.ts";
import { run, runAsync, scratch } from "./helpers/tmp.ts";
import { AS_NOBODY, isRoot, NOBODY } from "./helpers/unprivileged.ts";

export interface TransportFixture {
  /** URL under which the transport reaches the bare repository at this path. */
  makeUrl(bareRepoPath: string): string;
  options: TransportOptions;
  teardown(): Promise<void>;
  /** Protocol the server must speak for upload-pack (checked when given). */
  expectProtocol?: 0 | 2;
  /**
   * How the read-only remote test gets a writer that file modes bind when the
   * tests run as root (root ignores them): "client" when our own process
   * writes the remote (local paths; the push then runs in a child process as
   * nobody), else a second server whose git runs as nobody.
   */
  unprivileged: "client" | (() => Promise<UnprivilegedServer>);
}

/** A server like the fixture's, whose git programs run as nobody. */
export interface UnprivilegedServer {
  makeUrl(bareRepoPath: string): string;
  options: TransportOptions;
  teardown(): Promise<void>;
}

interface World {
  dir: string;
  local: string;
  gitdir: string;
  remote: string;
  transport: Transport;
  fixture: TransportFixture;
}

async function withWorld(
  setup: () => Promise<TransportFixture>,
  fn: (w: World) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await scratch("dxp-transport-");
  const fixture = await setup();
  try {
    const local = initRepo(join(dir, "local"));
    const remote = initRepo(join(dir, "remote.git"), true);
    const transport = openTransport(fixture.makeUrl(remote), fixture.options);
    await fn({ dir, local, gitdir: join(local, ".git"), remote, transport, fixture });
  } finally {
    await fixture.teardown();
    await cleanup();
  }
}

function fsckClean(repo: string): void {
  const r = run("git", ["fsck", "--full", "--no-dangling"], { cwd: repo });
  assert.equal(r.code, 0, `git fsck in ${repo}: ${r.stdout}${r.stderr}`);
}

function lsRemote(repo: string): Map<string, string> {
  const out = g(["ls-remote", repo], repo);
  return new Map(
    out.split("\n").filter((l) => l !== "" && !l.endsWith("^{}")).map((l) => {
      const [oid, name] = l.split("\t");
      return [name!, oid!] as [string, string];
    }),
  );
}

/** Builds a baseline and `count` experiments in `local`; returns the refs and SHAs. */
function makeExps(local: string, count: number, baseFiles: Record<string, string> = {}) {
  const baseline = commitFiles(local, {
    "params.yaml": "lr: 0\n",
    "src/train.py": "print(1)\n",
    ...baseFiles,
  }, "base");
  const specs = Array.from({ length: count }, (_, i) => ({
    name: `exp-${i}`,
    files: { "params.yaml": `lr: ${i + 1}\n` },
    time: 1700000100 + i,
  }));
  const shas = commitExps(local, baseline, specs);
  const exps = new Map([...shas].map(([name, sha]) => [expRef(baseline, name), sha]));
  return { baseline, exps };
}

/** Pushes refs (ref → sha) from `gitdir` in one session, creating them on the remote. */
async function pushRefs(
  w: World,
  refs: ReadonlyMap<string, string>,
  atomic = false,
  oldOf: (ref: string) => string = () => ZERO_OID,
) {
  const session = await w.transport.openPush();
  try {
    const remoteHas = [...session.advertisement.refs.values()];
    const oids = await objectsToSend(w.gitdir, [...refs.values()], remoteHas);
    const pack = await buildPack(w.gitdir, oids);
    const updates: RefUpdate[] = [...refs].map(([ref, sha]) => ({
      ref,
      oldOid: oldOf(ref),
      newOid: sha,
    }));
    const results = await session.send(updates, pack, { atomic });
    return { results, objects: oids.length, pack };
  } finally {
    await session.close();
  }
}

function newObjectCount(repo: string, tips: string[], bases: string[]): number {
  const out = g(["rev-list", "--objects", ...tips, "--not", ...bases, "--"], repo);
  return out.split("\n").filter((l) => l !== "").length;
}

/** `.git/shallow` of a work-tree repository ("" when it is complete). */
function readShallowFile(repo: string): string {
  try {
    return readFileSync(join(repo, ".git", "shallow"), "utf8");
  } catch {
    return "";
  }
}

/** Every object id in a repository (loose and packed). */
function objectsIn(repo: string): Set<string> {
  const out = g(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], repo);
  return new Set(out.split("\n").filter((l) => l !== ""));
}

/**
 * A remote with history c0 → c1 → c2 → c3 (main) and two experiments, one
 * on c1 (outside a depth-1 clone) and one on c3; `clone(name)` makes a
 * `git clone --depth 1` of it.
 */
function shallowWorld(w: World) {
  const source = initRepo(join(w.dir, "history"));
  const c0 = commitFiles(source, { "params.yaml": "lr: 0\n", "src/a.py": "a\n" }, "c0", 1700000000);
  const c1 = commitFiles(source, { "src/b.py": "b\n", "data.txt": "one\n" }, "c1", 1700000010);
  const c2 = commitFiles(source, { "data.txt": "two\n" }, "c2", 1700000020);
  const c3 = commitFiles(source, { "params.yaml": "lr: 3\n" }, "c3", 1700000030);
  const exp = commitExp(source, c1, "on-c1", { "params.yaml": "lr: 9\n", "new.txt": "n\n" });
  const expOnC3 = commitExp(source, c3, "on-c3", { "params.yaml": "lr: 33\n" });
  g(["push", "-q", w.remote, "refs/heads/*:refs/heads/*", "refs/exps/*:refs/exps/*"], source);
  return {
    c0,
    c1,
    c2,
    c3,
    exp,
    expOnC3,
    ref: expRef(c1, "on-c1"),
    refOnC3: expRef(c3, "on-c3"),
    clone(name: string): string {
      const path = join(w.dir, name);
      g(["clone", "-q", "--depth", "1", `file://${w.remote}`, path], w.dir);
      assert.equal(readShallowFile(path), `${c3}\n`);
      return path;
    },
  };
}

/** Registers the shared transport tests under `name`. */
export function transportSuite(
  name: string,
  setup: () => Promise<TransportFixture>,
): void {
  const test = (title: string, fn: (w: World) => Promise<void>) =>
    Deno.test({ name: `${name}: ${title}`, fn: () => withWorld(setup, fn) });

  test("listRefs() matches git ls-remote (branches, tags, refs/exps, HEAD)", async (w) => {
    const { exps } = makeExps(w.local, 3);
    g(["branch", "dev"], w.local);
    g(["tag", "-a", "-m", "release", "v1"], w.local);
    g(["tag", "light"], w.local);
    g([
      "push",
      "-q",
      w.remote,
      "refs/heads/*:refs/heads/*",
      "refs/tags/*:refs/tags/*",
      "refs/exps/*:refs/exps/*",
    ], w.local);
    const adv = await w.transport.listRefs();
    assert.deepEqual(new Map([...adv.refs].sort()), new Map([...lsRemote(w.remote)].sort()));
    assert.equal(adv.refs.get("HEAD"), adv.refs.get("refs/heads/main"));
    assert.equal(adv.headTarget, "refs/heads/main");
    for (const [ref, sha] of exps) assert.equal(adv.refs.get(ref), sha);
    if (w.fixture.expectProtocol !== undefined) {
      assert.equal(adv.protocol, w.fixture.expectProtocol);
    }
  });

  test("listRefs() with prefixes returns only refs under them", async (w) => {
    const { exps } = makeExps(w.local, 2);
    g(["push", "-q", w.remote, "refs/heads/*:refs/heads/*", "refs/exps/*:refs/exps/*"], w.local);
    const adv = await w.transport.listRefs({ prefixes: ["refs/exps/"] });
    assert.deepEqual(new Map([...adv.refs].sort()), new Map([...exps].sort()));
  });

  test("listRefs() of a HEAD-less remote holding only refs/exps lists just those", async (w) => {
    const { exps } = makeExps(w.local, 2);
    g(["push", "-q", w.remote, "refs/exps/*:refs/exps/*"], w.local);
    const adv = await w.transport.listRefs();
    assert.deepEqual(new Map([...adv.refs].sort()), new Map([...exps].sort()));
    assert.equal(adv.headTarget, undefined);
  });

  test("listRefs() and openPush() of an empty repository advertise no refs", async (w) => {
    const adv = await w.transport.listRefs();
    assert.equal(adv.refs.size, 0);
    const session = await w.transport.openPush();
    assert.equal(session.advertisement.refs.size, 0);
    await session.close();
    fsckClean(w.remote);
  });

  test("openPush().send() creates many refs in one session and the remote passes fsck", async (w) => {
    const { exps } = makeExps(w.local, 40);
    const { results } = await pushRefs(w, exps);
    assert.equal(results.length, 40);
    assert.ok(results.every((r) => r.ok), JSON.stringify(results.filter((r) => !r.ok)));
    assert.deepEqual(
      new Map([...forEachRef(w.remote, "refs/exps")].sort()),
      new Map([...exps].sort()),
    );
    fsckClean(w.remote);
  });

  test("openPush().send() sends only the new objects when the remote has the baseline", async (w) => {
    const { baseline, exps } = makeExps(w.local, 1);
    g(["push", "-q", w.remote, "main"], w.local);
    const { results, pack } = await pushRefs(w, exps);
    assert.ok(results[0]!.ok);
    const [sha] = [...exps.values()];
    assert.equal(packObjectCount(pack), newObjectCount(w.local, [sha!], [baseline]));
    assert.equal(packObjectCount(pack), 3, "commit, root tree, params.yaml");
    fsckClean(w.remote);
  });

  test("openPush().send() handles up-to-date, fast-forward, forced non-ff and delete", async (w) => {
    const { baseline, exps } = makeExps(w.local, 1);
    const [[ref, first]] = [...exps] as [[string, string]];
    await pushRefs(w, exps);
    // fast-forward: a child of the pushed experiment commit
    g(["checkout", "-q", "--detach", first], w.local);
    const child = commitFiles(w.local, { "metrics.json": '{"acc": 1}\n' }, "child", 1700000500);
    // sibling of `first`: not a descendant, so a forced (non-fast-forward) update
    g(["checkout", "-q", "--detach", baseline], w.local);
    const sibling = commitFiles(w.local, { "params.yaml": "lr: 99\n" }, "sibling", 1700000600);
    g(["checkout", "-q", "main"], w.local);

    const same = await pushRefs(w, new Map([[ref, first]]), false, () => first);
    assert.deepEqual(same.results, [{ ref, ok: true }]);
    const ff = await pushRefs(w, new Map([[ref, child]]), false, () => first);
    assert.deepEqual(ff.results, [{ ref, ok: true }]);
    assert.equal(ff.objects, 3);
    assert.equal(forEachRef(w.remote).get(ref), child);
    const forced = await pushRefs(w, new Map([[ref, sibling]]), false, () => child);
    assert.deepEqual(forced.results, [{ ref, ok: true }]);
    assert.equal(forEachRef(w.remote).get(ref), sibling);

    const session = await w.transport.openPush();
    assert.equal(session.advertisement.refs.get(ref), sibling);
    const results = await session.send([{ ref, oldOid: sibling, newOid: ZERO_OID }], null, {
      atomic: false,
    });
    await session.close();
    assert.deepEqual(results, [{ ref, ok: true }]);
    assert.equal(forEachRef(w.remote).has(ref), false);
    fsckClean(w.remote);
  });

  test("openPush().send() honours receive.denyNonFastForwards/denyDeletes for branches only, as git", async (w) => {
    const { baseline, exps } = makeExps(w.local, 1);
    const [[ref, first]] = [...exps] as [[string, string]];
    const branch = "refs/heads/topic";
    await pushRefs(w, new Map([[ref, first], [branch, first]]));
    g(["config", "receive.denyNonFastForwards", "true"], w.remote);
    g(["config", "receive.denyDeletes", "true"], w.remote);
    const sibling = commitExp(
      w.local,
      baseline,
      "sibling",
      { "params.yaml": "lr: 42\n" },
      1700000700,
    );
    const nonFf = await pushRefs(
      w,
      new Map([[branch, sibling], [ref, sibling]]),
      false,
      () => first,
    );
    assert.equal(nonFf.results[0]!.ok, false);
    assert.match(nonFf.results[0]!.reason!, /non-fast-forward/);
    assert.equal(nonFf.results[1]!.ok, true, "experiment refs are not guarded");
    assert.equal(forEachRef(w.remote).get(branch), first);
    const session = await w.transport.openPush();
    const deleted = await session.send(
      [
        { ref: branch, oldOid: first, newOid: ZERO_OID },
        { ref, oldOid: sibling, newOid: ZERO_OID },
      ],
      null,
      { atomic: false },
    );
    await session.close();
    assert.equal(deleted[0]!.ok, false);
    assert.match(deleted[0]!.reason!, /deletion prohibited/);
    assert.equal(deleted[1]!.ok, true);
    assert.equal(forEachRef(w.remote).get(branch), first);
    assert.equal(forEachRef(w.remote).has(ref), false);
    fsckClean(w.remote);
  });

  test("openPush().send() atomic applies nothing when one update is stale; non-atomic applies the rest", async (w) => {
    const { exps } = makeExps(w.local, 3);
    const [a, b, c] = [...exps.keys()] as [string, string, string];
    await pushRefs(w, new Map([[a, exps.get(a)!]]));
    // b is created; a claims a wrong old value (the remote moved it, as far as we know).
    const updates = new Map([[b, exps.get(b)!], [a, exps.get(c)!]]);
    const stale = (ref: string) => (ref === a ? exps.get(b)! : ZERO_OID);
    const session = await w.transport.openPush();
    const atomicOffered = session.advertisement.capabilities.has("atomic");
    await session.close();
    assert.ok(atomicOffered, "the remote offers atomic pushes");
    const atomic = await pushRefs(w, updates, true, stale);
    assert.deepEqual(atomic.results.map((r) => r.ok), [false, false]);
    assert.ok(atomic.results.every((r) => (r.reason ?? "") !== ""));
    assert.equal(forEachRef(w.remote).has(b), false, "atomic: nothing changed");
    assert.equal(forEachRef(w.remote).get(a), exps.get(a));
    const loose = await pushRefs(w, updates, false, stale);
    assert.deepEqual(loose.results.map((r) => [r.ref, r.ok]), [[b, true], [a, false]]);
    assert.equal(forEachRef(w.remote).get(b), exps.get(b));
    assert.equal(forEachRef(w.remote).get(a), exps.get(a));
    fsckClean(w.remote);
  });

  test(
    "openPush().send() reports a hook's rejection per ref, and atomic changes nothing",
    async (w) => {
      const { exps } = makeExps(w.local, 3);
      const refs = [...exps.keys()];
      const hook = join(w.remote, "hooks", "update");
      writeFileSync(
        hook,
        `#!/bin/sh\ncase "$1" in *exp-1) echo "exp-1 is not welcome" >&2; exit 1;; esac\nexit 0\n`,
      );
      chmodSync(hook, 0o755);
      const atomic = await pushRefs(w, exps, true);
      assert.deepEqual(atomic.results.map((r) => r.ok), [false, false, false]);
      assert.match(atomic.results[1]!.reason!, /hook declined/);
      assert.equal(forEachRef(w.remote, "refs/exps").size, 0);
      const loose = await pushRefs(w, exps, false);
      assert.deepEqual(loose.results.map((r) => r.ok), [true, false, true]);
      assert.deepEqual(
        [...forEachRef(w.remote, "refs/exps").keys()].sort(),
        [refs[0], refs[2]].sort(),
      );
      fsckClean(w.remote);
    },
  );

  test("openFetch().fetchPack() brings wanted refs that storePack makes readable (fsck clean)", async (w) => {
    const source = initRepo(join(w.dir, "source"));
    const { exps } = makeExps(source, 5);
    g(["push", "-q", w.remote, "refs/heads/*:refs/heads/*", "refs/exps/*:refs/exps/*"], source);
    const session = await w.transport.openFetch({ prefixes: ["refs/exps/"] });
    assert.deepEqual(new Map([...session.advertisement.refs].sort()), new Map([...exps].sort()));
    if (w.fixture.expectProtocol !== undefined) {
      assert.equal(session.advertisement.protocol, w.fixture.expectProtocol);
    }
    const pack = await session.fetchPack([...exps.values()], []);
    await session.close();
    const { objects } = await storePack(w.gitdir, pack);
    assert.equal(objects, newObjectCount(source, [...exps.values()], []));
    const written = await updateRefs(
      w.gitdir,
      [...exps].map(([ref, newOid]) => ({ ref, newOid, expectedOld: ZERO_OID })),
      {
        atomic: true,
      },
    );
    assert.ok(written.every((r) => r.ok));
    fsckClean(w.local);
    assert.deepEqual(
      new Map([...forEachRef(w.local, "refs/exps")].sort()),
      new Map([...exps].sort()),
    );
  });

  test("openFetch().fetchPack() with haves sends only the objects we lack", async (w) => {
    const { baseline } = makeExps(w.local, 0);
    g(["push", "-q", w.remote, "main"], w.local);
    const source = join(w.dir, "source");
    g(["clone", "-q", w.remote, source], w.dir);
    const exp = commitExp(source, baseline, "remote-exp", {
      "params.yaml": "lr: 7\n",
      "new/file.txt": "x\n",
    });
    g(["push", "-q", w.remote, "refs/exps/*:refs/exps/*"], source);
    const session = await w.transport.openFetch();
    const pack = await session.fetchPack([exp], [baseline]);
    await session.close();
    assert.equal(packObjectCount(pack), newObjectCount(source, [exp], [baseline]));
    await storePack(w.gitdir, pack);
    g(["update-ref", expRef(baseline, "remote-exp"), exp], w.local);
    fsckClean(w.local);
  });

  test("openFetch().fetchPack() with nothing wanted returns an empty pack", async (w) => {
    makeExps(w.local, 1);
    g(["push", "-q", w.remote, "main"], w.local);
    const session = await w.transport.openFetch();
    assert.equal((await session.fetchPack([], [])).length, 0);
    await session.close();
  });

  test("listRefs()/openPush() of a missing repository fail with 'not a valid Git remote'", async (w) => {
    const missing = openTransport(
      w.fixture.makeUrl(join(w.dir, "no-such-repo.git")),
      w.fixture.options,
    );
    const check = (e: unknown) =>
      e instanceof GitRemoteError && /is not a valid Git remote or URL/.test(e.message) &&
      !e.message.includes("\n");
    await assert.rejects(() => missing.listRefs(), check);
    await assert.rejects(() => missing.openPush(), check);
  });

  test("openFetch().fetchPack() fails cleanly when the remote's objects are corrupt", async (w) => {
    const source = initRepo(join(w.dir, "source"));
    const { exps } = makeExps(source, 1, { "data.txt": "precious data\n".repeat(50) });
    g(["config", "receive.unpackLimit", "100000"], w.remote);
    g(["push", "-q", w.remote, "refs/exps/*:refs/exps/*"], source);
    // Break one loose blob of the remote: a server must fail, not send a bad pack.
    const blob = g(["rev-parse", `${[...exps.values()][0]}:data.txt`], source).trim();
    const path = join(w.remote, "objects", blob.slice(0, 2), blob.slice(2));
    assert.ok(statSync(path).isFile(), "receive.unpackLimit keeps the pushed objects loose");
    chmodSync(path, 0o644);
    const data = readFileSync(path);
    writeFileSync(path, data.subarray(0, data.length - 6));
    const before = readdirSync(join(w.gitdir, "objects", "pack")).length;
    const session = await w.transport.openFetch();
    await assert.rejects(() => session.fetchPack([...exps.values()], []), GitRemoteError);
    await session.close().catch(() => undefined);
    assert.equal(readdirSync(join(w.gitdir, "objects", "pack")).length, before);
    assert.equal(forEachRef(w.local, "refs/exps").size, 0);
  });

  test(
    "openPush().send() reports a read-only remote as failed refs, and pushes once it is writable",
    async (w) => {
      const { exps } = makeExps(w.local, 1);
      const unwritable = [join(w.remote, "objects"), join(w.remote, "refs")];
      run("chmod", ["-R", "a-w", ...unwritable]);
      const writer = await unprivilegedWriter(w, exps);
      try {
        const refused = await writer.push();
        if (refused instanceof Error) {
          assert.equal(refused.name, "GitRemoteError", refused.message);
        } else {
          assert.equal(refused[0]!.ok, false, "a read-only remote cannot take the push");
          assert.ok((refused[0]!.reason ?? "") !== "");
        }
        assert.equal(forEachRef(w.remote, "refs/exps").size, 0);
        // The same writer succeeds once the remote is its own: the refusal was the file modes.
        run("chmod", ["-R", "u+w", ...unwritable]);
        if (isRoot()) run("chown", ["-R", `${NOBODY}:${NOBODY}`, w.remote]);
        const pushed = await writer.push();
        if (isRoot()) run("chown", ["-R", "0:0", w.remote]);
        assert.ok(!(pushed instanceof Error), String(pushed));
        assert.deepEqual(pushed.map((r) => r.ok), [true]);
        assert.deepEqual(
          new Map([...forEachRef(w.remote, "refs/exps")].sort()),
          new Map([...exps].sort()),
        );
        fsckClean(w.remote);
      } finally {
        run("chmod", ["-R", "u+w", ...unwritable]);
        await writer.close();
      }
    },
  );

  test("fetch() from a shallow clone sends its shallow commits: the server sends the history it lacks, as git fetch", async (w) => {
    const h = shallowWorld(w);
    const ours = h.clone("ours");
    const twin = h.clone("twin");
    const session = await w.transport.openFetch({ prefixes: ["refs/exps/"] });
    let answer;
    try {
      answer = await session.fetch({ wants: [h.exp], haves: [h.c3], shallow: [h.c3] });
    } finally {
      await session.close();
    }
    assert.deepEqual([answer.shallow, answer.unshallow], [[], []]);
    await storePack(join(ours, ".git"), answer.pack);
    g(["update-ref", h.ref, h.exp], ours);
    g(["fetch", "-q", `file://${w.remote}`, `${h.ref}:${h.ref}`], twin);
    fsckClean(ours);
    assert.equal(readShallowFile(ours), readShallowFile(twin));
    assert.deepEqual(objectsIn(ours), objectsIn(twin));
  });

  test("fetchCommits() deepens by 2 where the baseline is missing: .git/shallow and objects as git fetch --depth 2", async (w) => {
    const h = shallowWorld(w);
    const ours = h.clone("ours");
    const twin = h.clone("twin");
    const session = await w.transport.openFetch({ prefixes: ["refs/exps/"] });
    try {
      await fetchCommits(join(ours, ".git"), {
        tips: [{ oid: h.exp, base: h.c1 }],
        haves: [h.c3],
        session,
        reopen: () => w.transport.openFetch({ prefixes: ["refs/exps/"] }),
        displayUrl: w.transport.displayUrl,
      });
    } finally {
      await session.close();
    }
    g(["update-ref", h.ref, h.exp], ours);
    g(["fetch", "-q", "--depth", "2", `file://${w.remote}`, `${h.ref}:${h.ref}`], twin);
    fsckClean(ours);
    assert.equal(readShallowFile(ours), `${[h.c1, h.c3].sort().join("\n")}\n`);
    assert.equal(readShallowFile(ours), readShallowFile(twin));
    assert.deepEqual(objectsIn(ours), objectsIn(twin));
    assert.ok(!objectsIn(ours).has(h.c0), "the history below the baseline stays on the server");
  });

  test("fetch() with deepen through a shallow commit returns unshallow, as git fetch --depth", async (w) => {
    const h = shallowWorld(w);
    const ours = h.clone("ours");
    const twin = h.clone("twin");
    const session = await w.transport.openFetch({ prefixes: ["refs/exps/"] });
    let answer;
    try {
      answer = await session.fetch({
        wants: [h.expOnC3],
        haves: [h.c3],
        shallow: [h.c3],
        depth: 3,
      });
    } finally {
      await session.close();
    }
    // depth 3 from the experiment: itself, c3 (our shallow commit, now covered), c2 (the new cut).
    assert.deepEqual(answer.shallow, [h.c2]);
    assert.deepEqual(answer.unshallow, [h.c3]);
    await storePack(join(ours, ".git"), answer.pack);
    await updateShallow(join(ours, ".git"), { add: answer.shallow, remove: answer.unshallow });
    g(["update-ref", h.refOnC3, h.expOnC3], ours);
    g(["fetch", "-q", "--depth", "3", `file://${w.remote}`, `${h.refOnC3}:${h.refOnC3}`], twin);
    fsckClean(ours);
    assert.equal(readShallowFile(ours), `${h.c2}\n`);
    assert.equal(readShallowFile(ours), readShallowFile(twin));
    assert.deepEqual(objectsIn(ours), objectsIn(twin));
  });

  test("fetchObjectsById() fills a blobless partial clone from its promisor remote; git fsck stays clean", async (w) => {
    const h = shallowWorld(w);
    g(["config", "uploadpack.allowFilter", "true"], w.remote);
    // v0 servers hand out objects by id only with this (v2 always does).
    g(["config", "uploadpack.allowAnySHA1InWant", "true"], w.remote);
    const ours = join(w.dir, "partial");
    g(["clone", "-q", "--filter=blob:none", `file://${w.remote}`, ours], w.dir);
    const missing = g(["rev-list", "--objects", "--missing=print", h.c1], ours)
      .split("\n").filter((l) => l.startsWith("?")).map((l) => l.slice(1));
    assert.ok(missing.length > 0, "the partial clone lacks c1's own blobs");
    await fetchObjectsById(
      join(ours, ".git"),
      () => w.transport.openFetch({ prefixes: ["HEAD"] }),
      missing,
      w.transport.displayUrl,
    );
    const after = g(["rev-list", "--objects", "--missing=print", h.c1], ours);
    assert.ok(!after.includes("\n?") && !after.startsWith("?"), after);
    const packs = readdirSync(join(ours, ".git", "objects", "pack"));
    assert.equal(
      packs.filter((f) => f.endsWith(".promisor")).length,
      packs.filter((f) => f.endsWith(".pack")).length,
      "every pack from the promisor is marked",
    );
    fsckClean(ours);
  });

  test("a push from a shallow clone sends only new objects; a commit at the clone's edge the remote lacks is refused", async (w) => {
    const h = shallowWorld(w);
    const ours = h.clone("ours");
    const gitdir = join(ours, ".git");
    const exp = commitExp(ours, h.c3, "from-shallow", { "params.yaml": "lr: 4\n" });
    const ref = expRef(h.c3, "from-shallow");
    const session = await w.transport.openPush();
    try {
      const oids = await objectsToSend(gitdir, [exp], [...session.advertisement.refs.values()]);
      assert.equal(oids.length, 3, "commit, root tree, params.yaml");
      const pack = await buildPack(gitdir, oids);
      const results = await session.send([{ ref, oldOid: ZERO_OID, newOid: exp }], pack, {
        atomic: false,
      });
      assert.deepEqual(results, [{ ref, ok: true }]);
    } finally {
      await session.close();
    }
    fsckClean(w.remote);
    assert.equal(forEachRef(w.remote).get(ref), exp);

    // An empty remote has none of c3's history, which this clone cannot send.
    const empty = initRepo(join(w.dir, "empty.git"), true);
    const other = openTransport(w.fixture.makeUrl(empty), w.fixture.options);
    const refused = await other.openPush();
    try {
      await assert.rejects(
        () => objectsToSend(gitdir, [exp], [...refused.advertisement.refs.values()]),
        (e: unknown) =>
          e instanceof DxpError && e.code === "ShallowHistory" &&
          e.message.includes(h.c3.slice(0, 7)) && !e.message.includes("\n"),
      );
    } finally {
      await refused.close();
    }
    assert.equal(forEachRef(empty).size, 0);
    fsckClean(empty);
  });
}

/**
 * Pushes `refs` so that file modes bind the remote's writer: as ourselves
 * when we are not root; as root, from a child process running as nobody
 * ("client" fixtures) or through a server whose git runs as nobody.
 */
async function unprivilegedWriter(
  w: World,
  refs: ReadonlyMap<string, string>,
): Promise<{ push(): Promise<RefUpdateResult[] | Error>; close(): Promise<void> }> {
  const inProcess = (transport: Transport) => async () => {
    try {
      return (await pushRefsWith(transport, w.gitdir, refs)).results;
    } catch (error) {
      return error as Error;
    }
  };
  if (!isRoot()) return { push: inProcess(w.transport), close: () => Promise.resolve() };
  chmodSync(w.dir, 0o755); // scratch folders are 0700: let nobody reach the repositories
  const how = w.fixture.unprivileged;
  if (how === "client") {
    const url = w.fixture.makeUrl(w.remote);
    const pairs = [...refs].map(([ref, sha]) => `${ref}=${sha}`);
    return {
      async push() {
        const child = await runAsync(AS_NOBODY[0]!, [
          ...AS_NOBODY.slice(1),
          BUN,
          PUSH_CHILD,
          url,
          w.gitdir,
          ...pairs,
        ], { cwd: "/", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
        const answer = JSON.parse(child.stdout.trim().split("\n").at(-1) || "{}");
        if (answer.results) return answer.results as RefUpdateResult[];
        if (answer.error) return Object.assign(new Error(answer.error.message), answer.error);
        throw new Error(`push as nobody failed (${child.code}): ${child.stderr}`);
      },
      close: () => Promise.resolve(),
    };
  }
  const server = await how();
  const transport = openTransport(server.makeUrl(w.remote), server.options);
  return { push: inProcess(transport), close: () => server.teardown() };
}

/** Creates `refs` on the remote in one push session of `transport`. */
async function pushRefsWith(
  transport: Transport,
  gitdir: string,
  refs: ReadonlyMap<string, string>,
): Promise<{ results: RefUpdateResult[] }> {
  const session = await transport.openPush();
  try {
    const remoteHas = [...session.advertisement.refs.values()];
    const oids = await objectsToSend(gitdir, [...refs.values()], remoteHas);
    const pack = await buildPack(gitdir, oids);
    const updates = [...refs].map(([ref, sha]) => ({ ref, oldOid: ZERO_OID, newOid: sha }));
    return { results: await session.send(updates, pack, { atomic: false }) };
  } finally {
    await session.close();
  }
}

const BUN = new URL("../node_modules/.bin/bun", import.meta.url).pathname;
const PUSH_CHILD = new URL("./helpers/push_refs_child.ts", import.meta.url).pathname;
