import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { updateDvcFileText, updateLockText } from "../lib/dvc/lock_edit.ts";
import { lockEntry } from "../lib/dvc/lock_entry.ts";
import { paramValues, readParamsText } from "../lib/dvc/params_values.ts";
import type { PyValue } from "../lib/dvc/py_value.ts";
import { checkExpName, randomExpName } from "../lib/engine/exp/save/exp_name.ts";
import { FileChangedError, WorkspaceHasher } from "../lib/engine/exp/save/hash_items.ts";
import { WorkspaceState } from "../lib/engine/workspace/state.ts";
import { InvalidArgumentError } from "../lib/errors/mod.ts";

const map = (entries: [string, PyValue][]) => new Map(entries);
const LOCK = `schema: '2.0'
stages:
  a:   # hand comment
    cmd: echo a
    outs:
    - path: x
      md5: 0cc175b9c0f1b6a831c399e269772661
      size: 2
  b:
    cmd: echo b
`;

Deno.test("updateLockText() keeps untouched stages' bytes, replaces a changed entry whole, appends new stages", () => {
  const b = lockEntry({ cmd: "echo b", deps: [], params: [], outs: [] });
  let update = updateLockText(LOCK, new Map([["b", b]]), "dvc.lock");
  assert.equal(update.text, LOCK);
  assert.equal(update.modified, false);
  const a = lockEntry({
    cmd: "echo a",
    deps: [],
    params: [],
    outs: [{ defPath: "x", scheme: "md5", md5: "92eb5ffee6ae2fec3ad71c777531578f", size: 2 }],
  });
  const c = lockEntry({ cmd: ["one", "two"], deps: [], params: [], outs: [] });
  update = updateLockText(LOCK, new Map([["a", a], ["c", c]]), "dvc.lock");
  assert.equal(update.modified, true);
  assert.equal(
    update.text,
    "schema: '2.0'\nstages:\n  a:\n    cmd: echo a\n    outs:\n    - path: x\n      hash: md5\n" +
      "      md5: 92eb5ffee6ae2fec3ad71c777531578f\n      size: 2\n  b:\n    cmd: echo b\n" +
      "  c:\n    cmd:\n    - one\n    - two\n",
  );
  const fresh = updateLockText(undefined, new Map([["b", b]]), "dvc.lock");
  assert.deepEqual(fresh, {
    text: "schema: '2.0'\nstages:\n  b:\n    cmd: echo b\n",
    generated: true,
    modified: true,
  });
});

Deno.test("updateDvcFileText() changes values in place and appends new keys, as DVC's apply_diff", () => {
  const legacy =
    "outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 2\n  path: raw.csv\n  desc: kept\n";
  const entry = map([
    ["md5", "92eb5ffee6ae2fec3ad71c777531578f"],
    ["size", 3n],
    ["path", "raw.csv"],
    ["desc", "kept"],
    ["hash", "md5"],
  ]);
  assert.equal(
    updateDvcFileText(legacy, "raw.csv.dvc", [{ index: 0, entry }]),
    "outs:\n- md5: 92eb5ffee6ae2fec3ad71c777531578f\n  size: 3\n  path: raw.csv\n  desc: kept\n  hash: md5\n",
  );
});

Deno.test("paramValues() reads dotted keys with Python's types and names missing ones as DVC", () => {
  const config = readParamsText(
    "lr: 0.1\nepochs: 3\neval:\n  threshold: 1e-3\nxs: [1, 2.0]\n",
    "params.yaml",
  );
  const values = paramValues(config, ["eval.threshold", "epochs", "xs.1"], "params.yaml");
  assert.deepEqual([...values], [["eval.threshold", 0.001], ["epochs", 3n], ["xs.1", 2]]);
  assert.throws(
    () => paramValues(config, ["lr", "nope"], "params.yaml"),
    { message: "Parameters 'nope' are missing from 'params.yaml'." },
  );
  const toml = readParamsText("lr = 0.5\nn = 4\n", "p.toml");
  assert.deepEqual([...toml], [["lr", 0.5], ["n", 4n]]);
});

Deno.test("checkExpName() refuses what DVC refuses (dulwich's ref rules, no '/')", () => {
  const ref = (name: string) => `refs/exps/9e/${"5".repeat(38)}/${name}`;
  for (
    const bad of [
      "group/name",
      "na me",
      "invalid/.name",
      ":",
      "^",
      "*",
      "~",
      "?",
      "fo^o",
      "invalid..name",
      "invalid~name",
      "invalid?name",
      "invalidname.",
      "x.lock",
      "a@{b",
      "back\\slash",
      "",
    ]
  ) {
    assert.throws(() => checkExpName(bad, ref(bad)), InvalidArgumentError, bad);
  }
  for (const good of ["name", "exp-save-1", "@", "a.b", "données"]) checkExpName(good, ref(good));
  assert.match(randomExpName(), /^[a-z]{5}-[a-z]{4}$/);
  assert.equal(randomExpName(() => 0), "adept-acre");
});

Deno.test("WorkspaceHasher refuses a file that changes while it is read, and records nothing for it", async () => {
  const root = mkdtempSync(join(tmpdir(), "dxp-hash-"));
  try {
    writeFileSync(join(root, "big.bin"), new Uint8Array(3 * 1024 * 1024));
    const state = await WorkspaceState.load(join(root, ".dvc"));
    let grown = false;
    const hasher = new WorkspaceHasher({
      root,
      state,
      show: (p) => p,
      // A writer appends while the first chunk is being hashed.
      onBytes: () => {
        if (!grown) appendFileSync(join(root, "big.bin"), "more");
        grown = true;
      },
    });
    await assert.rejects(
      hasher.digest("big.bin", "md5", "output"),
      (error: unknown) =>
        error instanceof FileChangedError &&
        error.message ===
          "'big.bin' changed while it was being hashed; wait until the program writing it has finished and save again",
    );
    assert.equal(state.files.size, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
