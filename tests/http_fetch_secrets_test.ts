/**
 * Network failures never carry a URL's query into dxp's error: it may hold a
 * token (an Azure SAS signature, a presigned URL's signature).
 */
import assert from "node:assert/strict";
import { classifyFetchFailure } from "../lib/store/http_fetch.ts";

const CANARY = "CanarySecret7f3a";
const context = { action: "download", where: "azure://container/path" };

function messageOf(error: unknown): string {
  return (classifyFetchFailure(error, context, undefined, 1000) as Error).message;
}

Deno.test("a failed request's URL query (a SAS token holding ')') stays out of the error", () => {
  // Deno's shape: "fetch failed" with the request URL in the cause's message.
  const url = `https://acct.blob.core.windows.net/c/k?sv=2022-11-02&sp=(r)&sig=${CANARY}`;
  const error = new TypeError("fetch failed", {
    cause: new Error(
      `error sending request for url (${url}): client error (Connect): tcp connect error: Connection refused`,
    ),
  });
  const message = messageOf(error);
  assert.doesNotMatch(message, new RegExp(CANARY));
  assert.match(message, /^Failed to download at 'azure:\/\/container\/path': .*Connection refused/);
});

Deno.test("a URL elsewhere in a network failure loses its query and fragment", () => {
  const error = new Error(
    `connect to https://h.example/p?token=${CANARY} failed, see http://h.example/x#${CANARY}`,
  );
  const message = messageOf(error);
  assert.doesNotMatch(message, new RegExp(CANARY));
  assert.match(message, /https:\/\/h\.example\/p failed, see http:\/\/h\.example\/x/);
});

Deno.test("a real failed fetch whose query holds ')' names no part of the query", async () => {
  const url = `http://dxp-test.invalid/c/k?sp=(r)&sig=${CANARY}`;
  const error = await fetch(url, { redirect: "manual" }).then(
    () => assert.fail("a .invalid host resolved"),
    (e: unknown) => e,
  );
  assert.doesNotMatch(messageOf(error), new RegExp(CANARY));
});
