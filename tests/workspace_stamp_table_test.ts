import assert from "node:assert/strict";
import { StampTable } from "../lib/engine/workspace/stamp_table.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";

/** `table` written as its columns and read back, as the state file does. */
function readBack(table: StampTable, onlyTouched = false): StampTable {
  const { count, columns } = table.columns(onlyTouched);
  const bytes = new Uint8Array(columns.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const column of columns) {
    bytes.set(column, at);
    at += column.length;
  }
  let read = 0;
  const copy = StampTable.fromColumns(count, (into) => {
    if (read + into.length > bytes.length) return false;
    into.set(bytes.subarray(read, read + into.length));
    read += into.length;
    return true;
  });
  assert.ok(copy !== undefined);
  assert.equal(read, bytes.length, "every byte read, no more");
  return copy;
}

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

Deno.test("StampTable entries survive a write as columns and a read back", () => {
  const table = new StampTable();
  for (let i = 0; i < 3000; i++) table.set(`d/f${i}`, i + 1, 1e12 + i, i, i % 2 ? A : B, "md5");
  const copy = readBack(table);
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
  const copy = readBack(table);
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
    const t = readBack(table);
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

Deno.test("StampTable.columns() leaves out dropped entries, and with onlyTouched those never used; flags but not 'touched' are kept", () => {
  const table = new StampTable();
  for (let i = 0; i < 10; i++) table.set(`d/f${i}`, i + 1, 1000 + i, 64, A, "md5");
  table.set("d/legacy", 20, 2000, 5, B, "md5-dos2unix");
  table.set("d/sub", 21, 2100, 90, `${B}.dir`, "md5");
  table.delete("d/f3");
  table.delete("d/f7");
  const all = readBack(table);
  assert.equal(all.size, 10);
  assert.equal(all.lookup("d/f3", 4, 1003, 64, "md5"), undefined);
  assert.equal(all.lookup("d/f4", 5, 1004, 64, "md5"), A);
  assert.equal(all.lookup("d/legacy", 20, 2000, 5, "md5-dos2unix"), B);
  assert.equal(all.lookup("d/legacy", 20, 2000, 5, "md5"), undefined);
  assert.equal(all.lookup("d/sub", 21, 2100, 90, "md5"), `${B}.dir`);
  // Read back, nothing is touched: pruning keeps none; then only what was looked up.
  const fresh = readBack(table);
  assert.equal(readBack(fresh, true).size, 0);
  fresh.lookup("d/f1", 2, 1001, 64, "md5");
  fresh.set("d/f2", 99, 1002, 64, A, "md5");
  const pruned = readBack(fresh, true);
  assert.equal(pruned.size, 2);
  assert.equal(pruned.lookup("d/f1", 2, 1001, 64, "md5"), A);
  assert.equal(pruned.lookup("d/f2", 99, 1002, 64, "md5"), A);
  assert.equal(pruned.lookup("d/f4", 5, 1004, 64, "md5"), undefined);
});

Deno.test("StampTable.fromColumns(): a source that ends early gives no table; a path hash met twice keeps its first entry", () => {
  const table = new StampTable();
  table.set("d/a", 1, 1000, 64, A, "md5");
  table.set("d/b", 2, 2000, 64, B, "md5");
  const { count, columns } = table.columns();
  let left = 3;
  assert.equal(StampTable.fromColumns(count, () => left-- > 0), undefined);

  // The same two entries twice over: hashes [a, b, a, b] and so on, the second pair with other stamps.
  const doubled = columns.map((c) => {
    const out = new Uint8Array(2 * c.length);
    out.set(c);
    out.set(c, c.length);
    return out;
  });
  const inos = new Float64Array(doubled[2]!.buffer);
  inos[2] = 7;
  inos[3] = 8;
  let k = 0;
  const copy = StampTable.fromColumns(2 * count, (into) => {
    into.set(doubled[k++]!);
    return true;
  });
  assert.ok(copy !== undefined);
  assert.equal(copy.size, 2);
  assert.equal(copy.lookup("d/a", 1, 1000, 64, "md5"), A);
  assert.equal(copy.lookup("d/a", 7, 1000, 64, "md5"), undefined);
  assert.equal(copy.lookup("d/b", 2, 2000, 64, "md5"), B);
});
