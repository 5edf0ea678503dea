/**
 * Built-ins (and libraries) only some commands need are loaded when first used: a static
 * import of one is loaded at every start of the binary (see util/builtin.ts).
 */
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { lazyBuiltin } from "../lib/util/builtin.ts";

Deno.test("lazyBuiltin gives the built-in module itself, loaded once", () => {
  const get = lazyBuiltin<typeof zlib>("node:zlib");
  const loaded = get();
  assert.equal(loaded, get());
  assert.equal(typeof loaded.inflateSync, "function");
  const bytes = new TextEncoder().encode("dxp dxp dxp");
  assert.deepEqual(new Uint8Array(loaded.inflateSync(zlib.deflateSync(bytes))), bytes);
});

Deno.test("no module of lib/ imports zlib, http, https, tls, net, readline or cli-progress statically (types only)", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".ts")) {
        const text = readFileSync(path, "utf8");
        // cli-progress draws bars on a terminal only, and loads node:readline.
        const eager =
          /^import (?!type )[^;]*from "(node:(zlib|http|https|tls|net|readline)|cli-progress)";/gm;
        for (const m of text.matchAll(eager)) offenders.push(`${path}: ${m[0]}`);
      }
    }
  };
  walk(new URL("../lib", import.meta.url).pathname);
  assert.deepEqual(offenders, []);
});
