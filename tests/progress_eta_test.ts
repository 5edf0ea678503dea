/** The time left that progress lines show, from the recent byte and object rates. */
import assert from "node:assert/strict";
import { secondsLeft } from "../lib/cli/render/progress.ts";

const MIB = 1024 * 1024;

Deno.test("a few large files: the bytes decide, not the step of one file done", () => {
  // 1 of 5 files done after 1.6 s, 969 of 1024 MiB moved at 600 MiB/s.
  const p = { doneObjects: 1, totalObjects: 5, doneBytes: 969 * MIB, totalBytes: 1024 * MIB };
  const left = secondsLeft(p, { bytesRate: 600 * MIB, objectsRate: 1 / 1.6, objects: 1 })!;
  assert.ok(left > 0.05 && left < 0.2, `${left} s`);
});

Deno.test("many objects: the longer of the two estimates, as before", () => {
  // Sizes learnt on the way: the bytes say 1 s, the 900 objects left at 100/s say 9 s.
  const p = { doneObjects: 100, totalObjects: 1000, doneBytes: 10 * MIB, totalBytes: 20 * MIB };
  assert.equal(secondsLeft(p, { bytesRate: 10 * MIB, objectsRate: 100, objects: 100 }), 9);
  assert.equal(secondsLeft(p, { bytesRate: 1 * MIB, objectsRate: 100, objects: 100 }), 10);
});

Deno.test("one rate unknown: the other; none: no estimate", () => {
  const noBytes = { doneObjects: 2, totalObjects: 22, doneBytes: 0, totalBytes: 0 };
  assert.equal(secondsLeft(noBytes, { bytesRate: 0, objectsRate: 4, objects: 2 }), 5);
  const noObjects = { doneObjects: 0, totalObjects: 3, doneBytes: 10 * MIB, totalBytes: 40 * MIB };
  assert.equal(secondsLeft(noObjects, { bytesRate: 10 * MIB, objectsRate: 0, objects: 0 }), 3);
  assert.equal(secondsLeft(noObjects, { bytesRate: 0, objectsRate: 0, objects: 0 }), undefined);
});
