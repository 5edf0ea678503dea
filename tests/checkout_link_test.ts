import assert from "node:assert/strict";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { createLinker, type LinkFs, TEMP_NAME } from "../lib/cache/link.ts";
import { parseLinkTypes } from "../lib/cache/link_types.ts";
import { ConfigError, StoreError } from "../lib/errors/mod.ts";
import { scratch } from "./helpers/tmp.ts";

/** A protected (0444) cache object with `content`, and an empty workspace folder. */
async function setup(content = "payload\n") {
  const tmp = await scratch("dxp-link-");
  const cacheObj = join(tmp.dir, "cache", "ab", "cdef");
  mkdirSync(join(tmp.dir, "cache", "ab"), { recursive: true });
  writeFileSync(cacheObj, content);
  chmodSync(cacheObj, 0o444);
  const ws = join(tmp.dir, "ws");
  mkdirSync(ws);
  return { ...tmp, cacheObj, ws };
}

const fault = (code: string) => () => Promise.reject(Object.assign(new Error(code), { code }));
const umask = process.umask();

Deno.test("parseLinkTypes() gives DVC's default reflink,copy and keeps the user's order", () => {
  assert.deepEqual(parseLinkTypes(undefined), ["reflink", "copy"]);
  assert.deepEqual(parseLinkTypes([]), ["reflink", "copy"]);
  assert.deepEqual(parseLinkTypes(["Hardlink", " symlink", "hardlink"]), ["hardlink", "symlink"]);
  assert.throws(() => parseLinkTypes(["junction"]), ConfigError);
});

Deno.test("createLinker() copy makes an independent byte copy with mode 0666 & ~umask", async () => {
  const t = await setup();
  try {
    const dest = join(t.ws, "model.bin");
    assert.equal(await createLinker(["copy"]).place(t.cacheObj, dest), "copy");
    assert.equal(readFileSync(dest, "utf8"), "payload\n");
    assert.notEqual(statSync(dest).ino, statSync(t.cacheObj).ino);
    assert.equal(statSync(dest).mode & 0o777, 0o666 & ~umask);
    assert.equal(statSync(t.cacheObj).mode & 0o777, 0o444);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() sets the exec bits of a copied isexec file", async () => {
  const t = await setup();
  try {
    const dest = join(t.ws, "run.sh");
    await createLinker(["copy"]).place(t.cacheObj, dest, { isexec: true });
    assert.equal(statSync(dest).mode & 0o777, 0o777 & ~umask);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() hardlink makes the workspace file the read-only cache object", async () => {
  const t = await setup();
  try {
    const dest = join(t.ws, "model.bin");
    assert.equal(await createLinker(["hardlink", "copy"]).place(t.cacheObj, dest), "hardlink");
    assert.equal(statSync(dest).ino, statSync(t.cacheObj).ino);
    assert.equal(statSync(dest).mode & 0o777, 0o444);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() hardlink writes an empty object as a plain empty file (link limits)", async () => {
  const t = await setup("");
  try {
    const dest = join(t.ws, "empty.txt");
    assert.equal(await createLinker(["hardlink"]).place(t.cacheObj, dest), "hardlink");
    assert.notEqual(statSync(dest).ino, statSync(t.cacheObj).ino);
    assert.equal(statSync(dest).size, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() symlink points at the cache object by absolute path", async () => {
  const t = await setup();
  try {
    const dest = join(t.ws, "model.bin");
    assert.equal(await createLinker(["symlink"]).place(t.cacheObj, dest), "symlink");
    assert.ok(lstatSync(dest).isSymbolicLink());
    assert.equal(readlinkSync(dest), t.cacheObj);
    assert.equal(readFileSync(dest, "utf8"), "payload\n");
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() falls back to copy when reflink is unsupported and stops trying reflink", async () => {
  const t = await setup();
  try {
    let clones = 0;
    const copyFile: LinkFs["copyFile"] = (src, dest, mode) => {
      if (mode & 4 /* COPYFILE_FICLONE_FORCE */) {
        clones++;
        return fault("EOPNOTSUPP")();
      }
      writeFileSync(dest, readFileSync(src));
      return Promise.resolve();
    };
    const linker = createLinker(["reflink", "copy"], { fs: { copyFile } });
    assert.equal(await linker.place(t.cacheObj, join(t.ws, "a")), "copy");
    assert.equal(await linker.place(t.cacheObj, join(t.ws, "b")), "copy");
    assert.equal(clones, 1);
    assert.deepEqual(linker.types, ["copy"]);
    assert.equal(readFileSync(join(t.ws, "b"), "utf8"), "payload\n");
    assert.deepEqual(readdirSync(t.ws).sort(), ["a", "b"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() tries the next type for one file on EMLINK but keeps hardlink for the next", async () => {
  const t = await setup();
  try {
    let calls = 0;
    const link: LinkFs["link"] = (src, dest) => {
      calls++;
      return calls === 1 ? fault("EMLINK")() : Promise.resolve().then(() => {
        writeFileSync(dest, readFileSync(src));
      });
    };
    const linker = createLinker(["hardlink", "copy"], { fs: { link } });
    assert.equal(await linker.place(t.cacheObj, join(t.ws, "a")), "copy");
    assert.equal(await linker.place(t.cacheObj, join(t.ws, "b")), "hardlink");
    assert.deepEqual(linker.types, ["hardlink", "copy"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() fails with one clear error when no type works, leaving no temp file", async () => {
  const t = await setup();
  try {
    const linker = createLinker(["hardlink"], { fs: { link: fault("EXDEV") } });
    await assert.rejects(linker.place(t.cacheObj, join(t.ws, "a")), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /Cannot create 'a' with any cache\.type \(hardlink\)/);
      return true;
    });
    assert.deepEqual(readdirSync(t.ws), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() never leaves a half-written file under the real name when the copy fails", async () => {
  const t = await setup();
  try {
    const dest = join(t.ws, "model.bin");
    writeFileSync(dest, "old content\n");
    const copyFile: LinkFs["copyFile"] = (_src, tmpPath) => {
      writeFileSync(tmpPath, "half");
      return fault("ENOSPC")();
    };
    await assert.rejects(
      createLinker(["copy"], { fs: { copyFile } }).place(t.cacheObj, dest),
      StoreError,
    );
    assert.equal(readFileSync(dest, "utf8"), "old content\n");
    assert.deepEqual(readdirSync(t.ws).filter((n) => TEMP_NAME.test(n)), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("createLinker() links straight under the name, and over an existing file through a temp name", async () => {
  const t = await setup();
  try {
    const dest = join(t.ws, "model.bin");
    writeFileSync(dest, "old\n");
    assert.equal(await createLinker(["hardlink"]).place(t.cacheObj, dest), "hardlink");
    assert.equal(statSync(dest).ino, statSync(t.cacheObj).ino);
    assert.equal(await createLinker(["symlink"]).place(t.cacheObj, dest), "symlink");
    assert.equal(readlinkSync(dest), t.cacheObj);
    assert.deepEqual(readdirSync(t.ws), ["model.bin"]);
  } finally {
    await t.cleanup();
  }
});
