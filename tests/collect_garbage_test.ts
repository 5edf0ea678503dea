import assert from "node:assert/strict";
import { GARBAGE_EVERY, GarbagePacer } from "../lib/util/collect_garbage.ts";

Deno.test("GarbagePacer collects once per GARBAGE_EVERY entries, counted one at a time or by batch", () => {
  let collections = 0;
  const single = new GarbagePacer(() => collections++);
  for (let i = 1; i < GARBAGE_EVERY; i++) single.step();
  assert.equal(collections, 0);
  single.step();
  assert.equal(collections, 1);
  for (let i = 0; i < 2 * GARBAGE_EVERY; i++) single.step();
  assert.equal(collections, 3);

  collections = 0;
  const batched = new GarbagePacer(() => collections++);
  batched.step(4096);
  assert.equal(collections, 0);
  // A batch crossing several thresholds collects once; the next is a full stretch later.
  batched.step(3 * GARBAGE_EVERY);
  assert.equal(collections, 1);
  batched.step(GARBAGE_EVERY - 1);
  assert.equal(collections, 1);
  batched.step(1);
  assert.equal(collections, 2);
});
