import { readdir } from "node:fs/promises";
import { openLocalStore } from "../lib/store/local.ts";
import { scratch } from "./helpers/tmp.ts";
import { storeSuite } from "./store_suite.ts";

storeSuite("local", async () => {
  const { dir, cleanup } = await scratch("dxp-local-store-");
  return {
    store: openLocalStore(dir),
    teardown: cleanup,
    // list() hides temp files; the suite must see them to prove none is left.
    rawEntries: async () =>
      (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((entry) => !entry.isDirectory())
        .map((entry) => entry.name),
  };
});
