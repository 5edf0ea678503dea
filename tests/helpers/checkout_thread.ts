import assert from "node:assert/strict";
import type { CheckoutHelper } from "../../lib/cache/checkout_helper.ts";

/** Waits (bounded) until the helper thread has started; fails the test if it never does. */
export async function started(helper: CheckoutHelper): Promise<void> {
  await helper.whenReady(5000);
  assert.ok(helper.threaded, "the helper thread started");
}
