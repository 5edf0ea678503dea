/**
 * zlib-format inflate of a whole buffer. The compiled binary runs on Bun,
 * whose own `Bun.inflateSync` is ~4× faster than its `node:zlib` layer on
 * small inputs (a Git object is usually a few hundred bytes, and `exp show
 * -A` over 10,000 experiments inflates tens of thousands); elsewhere
 * (`deno test`) node:zlib does it. Both verify the Adler-32 trailer and
 * throw on damaged input; bytes after the end of the stream are ignored.
 * Only for data whose size is known and checked by the caller: neither path
 * bounds the output here.
 */
import { lazyBuiltin } from "./builtin.ts";

const zlib = lazyBuiltin<typeof import("node:zlib")>("node:zlib");

type BunInflate = (data: Uint8Array, options: { windowBits: number }) => Uint8Array;
const bunInflate = (globalThis as { Bun?: { inflateSync?: BunInflate } }).Bun?.inflateSync;

export function inflateZlib(data: Uint8Array): Uint8Array {
  if (bunInflate !== undefined) return bunInflate(data, { windowBits: 15 });
  return new Uint8Array(zlib().inflateSync(data));
}
