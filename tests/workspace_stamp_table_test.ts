import assert from "node:assert/strict";
import { StampTable } from "../lib/engine/workspace/stamp_table.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";

Deno.test("StampTable.holds() answers as lookup() would: same stamp, scheme and oid only", () => {
  const table = new StampTable();
  table.set("data/a.txt", 11, 1000.5, 64, A, "md5");
  table.set("data/b.dir", 12, 2000, 90, `${B}.dir`, "md5");
  table.set("legacy/c.txt", 13, 3000, 5, B, "md5-dos2unix");

  assert.equal(table.lookup("data/a.txt", 11, 1000.5, 64, "md5"), A);
  assert.equal(table.holds("data/a.txt", 11, 1000.5, 64, "md5", A), true);
  assert.equal(table.holds("data/a.txt", 11, 1000.5, 64, "md5", B), false);
  // Any part of the stamp changed, another scheme, another path: not held.
  assert.equal(table.holds("data/a.txt", 99, 1000.5, 64, "md5", A), false);
  assert.equal(table.holds("data/a.txt", 11, 1000.6, 64, "md5", A), false);
  assert.equal(table.holds("data/a.txt", 11, 1000.5, 65, "md5", A), false);
  assert.equal(table.holds("data/a.txt", 11, 1000.5, 64, "md5-dos2unix", A), false);
  assert.equal(table.holds("data/x.txt", 11, 1000.5, 64, "md5", A), false);
  // A .dir oid is held only with its suffix; a legacy entry only in its scheme.
  assert.equal(table.lookup("data/b.dir", 12, 2000, 90, "md5"), `${B}.dir`);
  assert.equal(table.holds("data/b.dir", 12, 2000, 90, "md5", `${B}.dir`), true);
  assert.equal(table.holds("data/b.dir", 12, 2000, 90, "md5", B), false);
  assert.equal(table.holds("legacy/c.txt", 13, 3000, 5, "md5-dos2unix", B), true);
  assert.equal(table.holds("legacy/c.txt", 13, 3000, 5, "md5", B), false);
});

Deno.test("StampTable records survive a write and a read back byte for byte", () => {
  const table = new StampTable();
  for (let i = 0; i < 3000; i++) table.set(`d/f${i}`, i + 1, 1e12 + i, i, i % 2 ? A : B, "md5");
  const copy = new StampTable(3000);
  for (const record of table.records()) {
    copy.addRecord(record, 0, new DataView(record.buffer, record.byteOffset, record.byteLength));
  }
  assert.equal(copy.size, 3000);
  for (let i = 0; i < 3000; i++) {
    assert.equal(copy.lookup(`d/f${i}`, i + 1, 1e12 + i, i, "md5"), i % 2 ? A : B);
  }
});

Deno.test("StampTable.changed: only an entry added, changed or dropped counts, not one read back or set again", () => {
  const table = new StampTable();
  table.set("d/a", 1, 1000, 64, A, "md5");
  table.set("d/b", 2, 2000, 64, `${B}.dir`, "md5");
  assert.equal(table.changed, true, "added");
  const copy = new StampTable();
  for (const record of table.records()) {
    copy.addRecord(record, 0, new DataView(record.buffer, record.byteOffset, record.byteLength));
  }
  assert.equal(copy.changed, false, "read back");
  copy.set("d/a", 1, 1000, 64, A, "md5");
  copy.set("d/b", 2, 2000, 64, `${B}.dir`, "md5");
  assert.equal(copy.changed, false, "the same stamps and oids set again");
  const variants: [string, number, number, number, string, "md5" | "md5-dos2unix"][] = [
    ["d/a", 9, 1000, 64, A, "md5"],
    ["d/a", 1, 1000.001, 64, A, "md5"],
    ["d/a", 1, 1000, 65, A, "md5"],
    ["d/a", 1, 1000, 64, B, "md5"],
    ["d/a", 1, 1000, 64, A, "md5-dos2unix"],
    ["d/b", 2, 2000, 64, B, "md5"],
    ["d/new", 3, 3000, 1, A, "md5"],
  ];
  for (const [path, ino, mtime, size, oid, scheme] of variants) {
    const t = new StampTable();
    for (const record of table.records()) {
      t.addRecord(record, 0, new DataView(record.buffer, record.byteOffset, record.byteLength));
    }
    t.set(path, ino, mtime, size, oid, scheme);
    assert.equal(t.changed, true, `${path} ${ino} ${mtime} ${size} ${oid} ${scheme}`);
  }
  copy.markSaved();
  assert.equal(copy.delete("d/missing"), false);
  assert.equal(copy.changed, false, "dropping nothing");
  assert.equal(copy.delete("d/a"), true);
  assert.equal(copy.changed, true, "dropped");
  copy.markSaved();
  copy.set("d/a", 1, 1000, 64, A, "md5");
  assert.equal(copy.changed, true, "a dropped entry set again");
});
