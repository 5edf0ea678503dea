import assert from "node:assert/strict";
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { CorruptError } from "../lib/errors/mod.ts";
import { unwritten, writeFully, writevFully } from "../lib/store/fd_io.ts";
import { isTempName, writeAtomic, writeThroughTemp } from "../lib/store/local_write.ts";
import { hashBytes } from "../lib/util/object_hasher.ts";
import { scratch } from "./helpers/tmp.ts";

const BYTES = new TextEncoder().encode("the bytes of one object\n");
const MD5 = hashBytes(BYTES, "md5");

/** What `fill` saw when it was called, and the gate it waits on before writing. */
function gatedFill() {
  const seen: { fd: number; temp: string; existed: boolean }[] = [];
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const fill = async (fd: number, temp: string) => {
    seen.push({ fd, temp, existed: existsSync(temp) });
    await gate;
    await writeFully(fd, BYTES);
    return MD5;
  };
  return { seen, open: () => open(), fill };
}

Deno.test("writeThroughTemp makes its temp file and calls fill in the caller's turn, folder included", async () => {
  const { dir, cleanup } = await scratch("dxp-local-write-");
  try {
    // A folder that does not exist yet: it is made before the first await too.
    const finalPath = join(dir, "files", "md5", "ab", "cdef");
    const { seen, open, fill } = gatedFill();
    const writing = writeThroughTemp(finalPath, {
      expect: { hash: MD5, scheme: "md5" },
      fileMode: 0o444,
      context: { action: "write a test object", where: finalPath },
      sourceLabel: "the test",
    }, fill);
    // Nothing awaited yet: a copy handed to another thread here starts now.
    assert.equal(seen.length, 1);
    assert.ok(seen[0]!.existed, "the temp file exists when fill is called");
    assert.ok(isTempName(seen[0]!.temp));
    assert.equal(join(seen[0]!.temp, ".."), join(finalPath, ".."));
    assert.ok(fstatSync(seen[0]!.fd).isFile());
    assert.equal(existsSync(finalPath), false);
    open();
    await writing;
    assert.deepEqual(readFileSync(finalPath), Buffer.from(BYTES));
    assert.equal(statSync(finalPath).mode & 0o777, 0o444);
    assert.deepEqual(readdirSync(join(finalPath, "..")), ["cdef"]);
  } finally {
    await cleanup();
  }
});

Deno.test("writeThroughTemp removes its temp file when the bytes do not hash to the name or fill fails", async () => {
  const { dir, cleanup } = await scratch("dxp-local-write-");
  try {
    const finalPath = join(dir, "object");
    const options = {
      expect: { hash: "0".repeat(32), scheme: "md5" as const },
      context: { action: "write a test object", where: finalPath },
      sourceLabel: "the test",
    };
    await assert.rejects(
      writeAtomic(
        finalPath,
        (async function* () {
          yield BYTES;
        })(),
        options,
      ),
      (error) => error instanceof CorruptError && error.message.includes(MD5),
    );
    await assert.rejects(
      writeThroughTemp(finalPath, options, () => Promise.reject(new Error("the source broke"))),
      /the source broke/,
    );
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    await cleanup();
  }
});

Deno.test("writeThroughTemp names the temp file it cannot create, and leaves nothing", async () => {
  const { dir, cleanup } = await scratch("dxp-local-write-");
  try {
    // The parent is a file: no folder can be made there.
    const blocker = join(dir, "blocker");
    await writeAtomic(
      blocker,
      (async function* () {
        yield BYTES;
      })(),
      { context: { action: "write the blocker", where: blocker }, sourceLabel: "the test" },
    );
    const finalPath = join(blocker, "object");
    let called = false;
    await assert.rejects(
      writeThroughTemp(finalPath, {
        context: { action: "write a test object", where: finalPath },
        sourceLabel: "the test",
      }, () => {
        called = true;
        return Promise.resolve(undefined);
      }),
      (error) => error instanceof Error && error.message.includes("write a test object"),
    );
    assert.equal(called, false);
    assert.deepEqual(readdirSync(dir), ["blocker"]);
  } finally {
    await cleanup();
  }
});

Deno.test("writevFully writes every chunk in order; a short write goes on where it stopped", async () => {
  const { dir, cleanup } = await scratch("dxp-local-write-");
  try {
    const chunks = [0, 1, 65536, 0, 300_000, 7, 1024 * 1024].map((size, i) =>
      new Uint8Array(size).fill(i + 1)
    );
    const path = join(dir, "out");
    const fd = openSync(path, "wx");
    try {
      await writevFully(fd, chunks);
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(readFileSync(path), Buffer.concat(chunks));
    // What a short write leaves: the rest of the chunk it stopped in, then the others.
    const abc = [Uint8Array.of(1, 2, 3), Uint8Array.of(), Uint8Array.of(4, 5)];
    assert.deepEqual(unwritten(abc, 0).map((c) => [...c]), [[1, 2, 3], [], [4, 5]]);
    assert.deepEqual(unwritten(abc, 2).map((c) => [...c]), [[3], [], [4, 5]]);
    assert.deepEqual(unwritten(abc, 3).map((c) => [...c]), [[4, 5]]);
    assert.deepEqual(unwritten(abc, 4).map((c) => [...c]), [[5]]);
    assert.deepEqual(unwritten(abc, 5), []);
  } finally {
    await cleanup();
  }
});
