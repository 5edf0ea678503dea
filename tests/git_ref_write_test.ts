import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DxpError, InvalidArgumentError, LockError } from "../lib/errors/mod.ts";
import { updateRef, updateRefs } from "../lib/git/ref_write.ts";
import { readRef, readRefs } from "../lib/git/refs_read.ts";
import { ZERO_OID } from "../lib/git/transport/types.ts";
import { expRef, forEachRef, g, withTwoCommits } from "./helpers/git_repo.ts";

function lockFiles(gitdir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".lock")) out.push(join(d, e.name));
    }
  };
  walk(gitdir);
  return out;
}

Deno.test("updateRef() creates, moves and deletes a ref that git then sees", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = expRef(a, "exp-1");
    await updateRef(gitdir, ref, b, ZERO_OID);
    assert.equal(readFileSync(join(gitdir, ref), "utf8"), `${b}\n`);
    assert.equal(forEachRef(gitdir, "refs/exps").get(ref), b);
    await updateRef(gitdir, ref, a, b);
    assert.equal(await readRef(gitdir, ref), a);
    await updateRef(gitdir, ref, ZERO_OID, a);
    assert.equal(forEachRef(gitdir, "refs/exps").size, 0);
    assert.equal(existsSync(join(gitdir, "refs", "exps")), true, "refs/exps/ itself is kept");
    assert.deepEqual(readdirSync(join(gitdir, "refs", "exps")), [], "empty folders are pruned");
    assert.deepEqual(lockFiles(gitdir), []);
  });
});

Deno.test("updateRef() compare-and-swap fails with RefConflict when the ref moved", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const ref = "refs/exps/x/y/z";
    await assert.rejects(() => updateRef(gitdir, "refs/heads/main", a, a), (e: unknown) => {
      return e instanceof DxpError && e.code === "RefConflict" && e.message.includes(b);
    });
    await assert.rejects(() => updateRef(gitdir, ref, a, b), /does not exist/);
    await updateRef(gitdir, ref, a, undefined);
    await assert.rejects(() => updateRef(gitdir, ref, b, ZERO_OID), (e: unknown) => {
      return e instanceof DxpError && e.code === "RefConflict";
    });
    assert.equal(await readRef(gitdir, ref), a);
    assert.deepEqual(lockFiles(gitdir), []);
  });
});

Deno.test("updateRef() reports a held lock as LockError and leaves the lock alone", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    writeFileSync(join(gitdir, "refs", "heads", "main.lock"), "");
    await assert.rejects(() => updateRef(gitdir, "refs/heads/main", a, b), (e: unknown) => {
      return e instanceof LockError && e.message.includes("main.lock");
    });
    assert.equal(existsSync(join(gitdir, "refs", "heads", "main.lock")), true);
    assert.equal(await readRef(gitdir, "refs/heads/main"), b);
  });
});

Deno.test("updateRef() deletes a packed ref and git no longer lists it", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    g(["update-ref", "refs/exps/aa/bb/one", a], gitdir);
    g(["update-ref", "refs/exps/aa/bb/two", b], gitdir);
    g(["tag", "-a", "-m", "t", "v1", a], gitdir);
    g(["pack-refs", "--all"], gitdir);
    assert.equal(existsSync(join(gitdir, "refs/exps/aa/bb/one")), false);
    assert.equal(await readRef(gitdir, "refs/exps/aa/bb/one"), a);
    await updateRef(gitdir, "refs/exps/aa/bb/one", ZERO_OID, a);
    await updateRef(gitdir, "refs/tags/v1", ZERO_OID, undefined);
    const refs = forEachRef(gitdir);
    assert.equal(refs.has("refs/exps/aa/bb/one"), false);
    assert.equal(refs.has("refs/tags/v1"), false);
    assert.equal(refs.get("refs/exps/aa/bb/two"), b);
    assert.ok(
      !readFileSync(join(gitdir, "packed-refs"), "utf8").includes("^"),
      "peeled line went with its tag",
    );
    assert.deepEqual(lockFiles(gitdir), []);
  });
});

Deno.test("updateRefs() atomic applies nothing when one ref fails; non-atomic applies the rest", async () => {
  await withTwoCommits(async (gitdir, a, b) => {
    const writes = [
      { ref: "refs/exps/aa/bb/one", newOid: a, expectedOld: ZERO_OID },
      { ref: "refs/heads/main", newOid: a, expectedOld: a }, // stale: main is at b
      { ref: "refs/exps/aa/bb/two", newOid: b, expectedOld: ZERO_OID },
    ];
    const atomic = await updateRefs(gitdir, writes, { atomic: true });
    assert.deepEqual(atomic.map((r) => r.ok), [false, false, false]);
    assert.match(atomic[1]!.reason!, /stale info/);
    assert.equal(atomic[0]!.reason, "atomic transaction failed");
    assert.equal(forEachRef(gitdir, "refs/exps").size, 0);
    const loose = await updateRefs(gitdir, writes, { atomic: false });
    assert.deepEqual(loose.map((r) => r.ok), [true, false, true]);
    assert.deepEqual([...(await readRefs(gitdir, "refs/exps/")).keys()], [
      "refs/exps/aa/bb/one",
      "refs/exps/aa/bb/two",
    ]);
    assert.deepEqual(lockFiles(gitdir), []);
  });
});

Deno.test("updateRefs() rejects bad names, bad oids and duplicate refs before touching anything", async () => {
  await withTwoCommits(async (gitdir, a) => {
    for (
      const ref of [
        "HEAD",
        "refs/x/../y",
        "refs/a b",
        "refs/x.lock",
        "refs/x/",
        "refs/.x",
        "refs/a~1",
      ]
    ) {
      await assert.rejects(
        () => updateRefs(gitdir, [{ ref, newOid: a }], { atomic: false }),
        InvalidArgumentError,
      );
    }
    await assert.rejects(
      () => updateRefs(gitdir, [{ ref: "refs/exps/x", newOid: "nope" }], { atomic: false }),
      InvalidArgumentError,
    );
    await assert.rejects(
      () =>
        updateRefs(gitdir, [{ ref: "refs/e/x", newOid: a }, { ref: "refs/e/x", newOid: a }], {
          atomic: false,
        }),
      InvalidArgumentError,
    );
    assert.deepEqual(lockFiles(gitdir), []);
  });
});

Deno.test("updateRefs() reports a directory/file name conflict without leaving locks", async () => {
  await withTwoCommits(async (gitdir, a) => {
    await updateRef(gitdir, "refs/exps/aa/bb", a, undefined);
    const [r] = await updateRefs(gitdir, [{ ref: "refs/exps/aa/bb/c", newOid: a }], {
      atomic: false,
    });
    assert.equal(r!.ok, false);
    assert.match(r!.reason!, /conflicting name/);
    assert.deepEqual(lockFiles(gitdir), []);
  });
});
