import assert from "node:assert/strict";
import { COLLECT_ABOVE_BYTES, GARBAGE_EVERY, GarbagePacer } from "../lib/util/collect_garbage.ts";

Deno.test("GarbagePacer looks once per GARBAGE_EVERY entries, counted one at a time or by batch", () => {
  let collections = 0;
  const big = () => COLLECT_ABOVE_BYTES + 1;
  const single = new GarbagePacer(() => collections++, big);
  for (let i = 1; i < GARBAGE_EVERY; i++) single.step();
  assert.equal(collections, 0);
  single.step();
  assert.equal(collections, 1);
  for (let i = 0; i < 2 * GARBAGE_EVERY; i++) single.step();
  assert.equal(collections, 3);

  collections = 0;
  const batched = new GarbagePacer(() => collections++, big);
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

Deno.test("GarbagePacer collects only while the process is above COLLECT_ABOVE_BYTES", () => {
  let collections = 0;
  let resident = COLLECT_ABOVE_BYTES;
  const pacer = new GarbagePacer(() => collections++, () => resident);
  pacer.step(GARBAGE_EVERY);
  assert.equal(collections, 0, "at the bound: nothing to do");
  resident = COLLECT_ABOVE_BYTES + 1;
  pacer.step(GARBAGE_EVERY);
  assert.equal(collections, 1);
  resident = 50 * 2 ** 20;
  pacer.step(GARBAGE_EVERY);
  assert.equal(collections, 1);
});
