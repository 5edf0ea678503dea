import assert from "node:assert/strict";
import { recordHashes, StageFileError } from "../lib/dvc/mod.ts";

const LOCK = `schema: '2.0'
stages:
  train:   # the model
    cmd: "python3 train.py"
    outs:
    - path: data_out
      hash: md5
      md5: 053c2dc049fea559cb76888c6247ca21.dir
      size: 650
      nfiles: 20
    - path: model.bin
      md5: 'd27303159086e7fbaa4d53120facc576'
      size: 54
`;

Deno.test("recordHashes() replaces only md5, size and nfiles values, byte for byte elsewhere", () => {
  const out = recordHashes(LOCK, "dvc.lock", [
    {
      keyPath: ["stages", "train", "outs", 0],
      md5: "6ad20658fd6931f69b883e517e891623.dir",
      size: 632,
      nfiles: 21,
    },
    // A legacy entry without `hash:` and a quoted md5: the value is replaced, the rest kept.
    { keyPath: ["stages", "train", "outs", 1], md5: "791e19e3604a69807d03423811c27e34", size: 9 },
  ]);
  assert.equal(
    out,
    LOCK.replace("053c2dc049fea559cb76888c6247ca21.dir", "6ad20658fd6931f69b883e517e891623.dir")
      .replace("size: 650", "size: 632")
      .replace("nfiles: 20", "nfiles: 21")
      .replace("'d27303159086e7fbaa4d53120facc576'", "791e19e3604a69807d03423811c27e34")
      .replace("size: 54", "size: 9"),
  );
});

Deno.test("recordHashes() leaves out size and nfiles the entry does not have", () => {
  const dvc = "outs:\n- md5: 16b4694244dad8ca4dc555ad9b5048f8\n  path: raw.csv\n";
  assert.equal(
    recordHashes(dvc, "raw.csv.dvc", [{ keyPath: ["outs", 0], md5: "a".repeat(32), size: 3 }]),
    `outs:\n- md5: ${"a".repeat(32)}\n  path: raw.csv\n`,
  );
  assert.throws(
    () =>
      recordHashes("outs:\n- path: raw.csv\n", "raw.csv.dvc", [{
        keyPath: ["outs", 0],
        md5: "a".repeat(32),
      }]),
    (e: unknown) => e instanceof StageFileError && e.location.line === 2,
  );
});
