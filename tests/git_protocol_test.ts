import assert from "node:assert/strict";
import { GitRemoteError } from "../lib/errors/mod.ts";
import {
  buildLsRefsRequest,
  filterRefs,
  readLsRefsResponse,
  readV0Advertisement,
  readV2Capabilities,
} from "../lib/git/protocol/advertisement.ts";
import { encodePkt, FLUSH_PKT, PktReader } from "../lib/git/protocol/pkt_line.ts";
import {
  buildReceivePackRequest,
  emptyPack,
  readReportStatus,
} from "../lib/git/protocol/receive_pack.ts";
import {
  buildV0FetchRequest,
  buildV2FetchRequest,
  readPackResponse,
  serverSupportsShallow,
} from "../lib/git/protocol/upload_pack.ts";
import { ZERO_OID } from "../lib/git/transport/types.ts";
import { concatBytes } from "../lib/util/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

/** Splits bytes into chunks of `size` so framing must survive chunk borders. */
async function* chunked(bytes: Uint8Array, size = 3): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

function reader(...parts: (string | Uint8Array)[]): PktReader {
  const bytes = concatBytes(parts.map((p) => (typeof p === "string" ? enc.encode(p) : p)));
  return new PktReader(chunked(bytes));
}

function sb(channel: number, data: string | Uint8Array): Uint8Array {
  const payload = typeof data === "string" ? enc.encode(data) : data;
  return encodePkt(concatBytes([new Uint8Array([channel]), payload]));
}

Deno.test("encodePkt() frames text with a 4-hex length that includes itself", () => {
  assert.equal(dec.decode(encodePkt("done\n")), "0009done\n");
  assert.equal(dec.decode(encodePkt("")), "0004");
  assert.throws(() => encodePkt(new Uint8Array(65517)), RangeError);
});

Deno.test("PktReader.read() returns data, flush, delim and response-end across chunk borders", async () => {
  const r = reader("0009done\n", "0000", "0001", "0002", "0006ab");
  assert.deepEqual(await r.readDataText(), "done");
  assert.deepEqual(await r.read(), { kind: "flush" });
  assert.deepEqual(await r.read(), { kind: "delim" });
  assert.deepEqual(await r.read(), { kind: "response-end" });
  const last = await r.read();
  assert.equal(last?.kind, "data");
  assert.equal(await r.read(), null);
});

Deno.test("PktReader.read() throws GitRemoteError on a malformed length or a cut packet", async () => {
  await assert.rejects(() => reader("zz12hello").read(), GitRemoteError);
  await assert.rejects(() => reader("0003").read(), GitRemoteError);
  await assert.rejects(() => reader("0010abc").read(), GitRemoteError);
  await assert.rejects(() => reader("00").read(), GitRemoteError);
});

Deno.test("readV0Advertisement() parses refs, capabilities and the HEAD symref", async () => {
  const r = reader(
    encodePkt(
      `${A} HEAD\0multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main agent=git/2.39.5\n`,
    ),
    encodePkt(`${A} refs/heads/main\n`),
    encodePkt(`${B} refs/exps/ab/${"c".repeat(38)}/exp-1\n`),
    encodePkt(`${C} refs/tags/v1\n`),
    encodePkt(`${A} refs/tags/v1^{}\n`),
    FLUSH_PKT,
  );
  const adv = await readV0Advertisement(r, { smartHttp: false });
  assert.equal(adv.protocol, 0);
  assert.equal(adv.headTarget, "refs/heads/main");
  assert.ok(adv.capabilities.has("side-band-64k"));
  assert.deepEqual([...adv.refs], [
    ["HEAD", A],
    ["refs/heads/main", A],
    [`refs/exps/ab/${"c".repeat(38)}/exp-1`, B],
    ["refs/tags/v1", C],
  ]);
});

Deno.test("readV0Advertisement() skips the smart-HTTP service header and handles an empty repo", async () => {
  const r = reader(
    encodePkt("# service=git-receive-pack\n"),
    FLUSH_PKT,
    encodePkt(`${ZERO_OID} capabilities^{}\0report-status delete-refs atomic\n`),
    FLUSH_PKT,
  );
  const adv = await readV0Advertisement(r, { smartHttp: true });
  assert.equal(adv.refs.size, 0);
  assert.equal(adv.headTarget, undefined);
  assert.ok(adv.capabilities.has("atomic"));
});

Deno.test("readV0Advertisement() accepts a bare flush (empty upload-pack repo)", async () => {
  const adv = await readV0Advertisement(reader(FLUSH_PKT), { smartHttp: false });
  assert.equal(adv.refs.size, 0);
  assert.equal(adv.capabilities.size, 0);
});

Deno.test("readV0Advertisement() returns protocol 2 and its capabilities on `version 2`", async () => {
  const r = reader(
    encodePkt("version 2\n"),
    encodePkt("agent=git/2.39.5\n"),
    encodePkt("ls-refs=unborn\n"),
    encodePkt("fetch=shallow wait-for-done\n"),
    FLUSH_PKT,
  );
  const adv = await readV0Advertisement(r, { smartHttp: false });
  assert.equal(adv.protocol, 2);
  assert.ok(adv.capabilities.has("ls-refs=unborn"));
  assert.ok(!adv.capabilities.has("version 2"));
  const caps = await readV2Capabilities(
    reader(encodePkt("version 2\n"), encodePkt("x\n"), FLUSH_PKT),
  );
  assert.deepEqual([...caps], ["x"]);
});

Deno.test("readV0Advertisement() turns an ERR packet and an early EOF into GitRemoteError", async () => {
  await assert.rejects(
    () => readV0Advertisement(reader(encodePkt("ERR access denied\n")), { smartHttp: false }),
    (e: unknown) => e instanceof GitRemoteError && e.message.includes("access denied"),
  );
  await assert.rejects(() => readV0Advertisement(reader(), { smartHttp: false }), GitRemoteError);
  await assert.rejects(
    () => readV0Advertisement(reader(encodePkt(`${A} refs/heads/x\n`)), { smartHttp: false }),
    GitRemoteError,
  );
  await assert.rejects(
    () => readV0Advertisement(reader(encodePkt("nonsense\n"), FLUSH_PKT), { smartHttp: false }),
    GitRemoteError,
  );
});

Deno.test("buildLsRefsRequest() and readLsRefsResponse() speak v2 ls-refs", async () => {
  const req = dec.decode(buildLsRefsRequest(["refs/exps/", "HEAD"], "dxp/1"));
  assert.equal(
    req,
    "0014command=ls-refs\n0010agent=dxp/1\n0001000csymrefs\n001aref-prefix refs/exps/\n0014ref-prefix HEAD\n0000",
  );
  const res = await readLsRefsResponse(reader(
    encodePkt(`${A} HEAD symref-target:refs/heads/main\n`),
    encodePkt(`${A} refs/heads/main\n`),
    encodePkt(`${B} refs/tags/v1 peeled:${C}\n`),
    FLUSH_PKT,
  ));
  assert.equal(res.headTarget, "refs/heads/main");
  assert.deepEqual([...res.refs], [["HEAD", A], ["refs/heads/main", A], ["refs/tags/v1", B]]);
  const unborn = await readLsRefsResponse(
    reader(encodePkt("unborn HEAD symref-target:refs/heads/x\n"), FLUSH_PKT),
  );
  assert.equal(unborn.refs.size, 0);
  assert.equal(unborn.headTarget, "refs/heads/x");
});

Deno.test("filterRefs() keeps refs under any prefix and all refs without prefixes", () => {
  const refs = new Map([["HEAD", A], ["refs/exps/x", B], ["refs/heads/main", C]]);
  assert.deepEqual([...filterRefs(refs, ["refs/exps/"]).keys()], ["refs/exps/x"]);
  assert.equal(filterRefs(refs, []).size, 3);
  assert.equal(filterRefs(refs, undefined).size, 3);
});

Deno.test("buildV0FetchRequest() puts offered capabilities on the first want, then haves and done", () => {
  const caps = new Set([
    "side-band-64k",
    "ofs-delta",
    "thin-pack",
    "no-progress",
    "agent=git/2.39.5",
  ]);
  const text = dec.decode(buildV0FetchRequest([A, B, A], [C], caps));
  assert.equal(
    text,
    `0066want ${A} side-band-64k ofs-delta no-progress agent=dxp/0.1.0\n` +
      `0032want ${B}\n0000` + `0032have ${C}\n0009done\n`,
  );
  assert.ok(!text.includes("thin-pack"));
  assert.equal(dec.decode(buildV0FetchRequest([], [C], caps)), "0000");
});

Deno.test("buildV2FetchRequest() sends command=fetch, args, wants, haves and done", () => {
  const text = dec.decode(buildV2FetchRequest([A], [B]));
  assert.equal(
    text,
    "0012command=fetch\n0014agent=dxp/0.1.0\n0001000eofs-delta\n0010no-progress\n" +
      `0032want ${A}\n0032have ${B}\n0009done\n0000`,
  );
});

Deno.test("readPackResponse() v0 skips ACK/NAK and joins side-band channel 1", async () => {
  const progress: string[] = [];
  const r = reader(
    encodePkt(`ACK ${A}\n`),
    sb(2, "Counting objects\n"),
    sb(1, "PACK"),
    sb(1, "rest"),
    FLUSH_PKT,
  );
  const { pack } = await readPackResponse(r, 0, { onProgress: (t) => progress.push(t) });
  assert.equal(dec.decode(pack), "PACKrest");
  assert.deepEqual(progress, ["Counting objects\n"]);
});

Deno.test("readPackResponse() v0 reads an unframed pack after NAK without side-band", async () => {
  const { pack } = await readPackResponse(reader(encodePkt("NAK\n"), "PACKxyz"), 0, {
    sideband: false,
  });
  assert.equal(dec.decode(pack), "PACKxyz");
});

Deno.test("readPackResponse() turns side-band channel 3 into GitRemoteError with the server text", async () => {
  const r = reader(encodePkt("NAK\n"), sb(3, "upload-pack: not our ref\n"));
  await assert.rejects(
    () => readPackResponse(r, 0),
    (e: unknown) => e instanceof GitRemoteError && e.message.includes("upload-pack: not our ref"),
  );
});

Deno.test("readPackResponse() v2 skips sections before packfile and returns empty without one", async () => {
  const r = reader(
    encodePkt("acknowledgments\n"),
    encodePkt("NAK\n"),
    "0001",
    encodePkt("packfile\n"),
    sb(1, "PACK1"),
    FLUSH_PKT,
  );
  assert.equal(dec.decode((await readPackResponse(r, 2)).pack), "PACK1");
  const none = reader(encodePkt("acknowledgments\n"), encodePkt(`ACK ${A}\n`), FLUSH_PKT);
  assert.equal((await readPackResponse(none, 2)).pack.length, 0);
});

Deno.test("buildV0FetchRequest() sends shallow lines and deepen after the wants, before the flush", () => {
  const caps = new Set(["side-band-64k", "shallow"]);
  const text = dec.decode(buildV0FetchRequest([A], [C], caps, { shallow: [B, B], depth: 2 }));
  assert.equal(
    text,
    `0040want ${A} side-band-64k\n` + `0035shallow ${B}\n` + "000ddeepen 2\n" + "0000" +
      `0032have ${C}\n0009done\n`,
  );
});

Deno.test("buildV2FetchRequest() sends shallow lines and deepen among the fetch arguments", () => {
  const text = dec.decode(buildV2FetchRequest([A], [], { shallow: [B], depth: 3 }));
  assert.equal(
    text,
    "0012command=fetch\n0014agent=dxp/0.1.0\n0001000eofs-delta\n0010no-progress\n" +
      `0035shallow ${B}\n000ddeepen 3\n0032want ${A}\n0009done\n0000`,
  );
});

Deno.test("serverSupportsShallow() reads v0's shallow capability and v2's fetch=shallow feature", () => {
  assert.equal(serverSupportsShallow(0, new Set(["shallow", "ofs-delta"])), true);
  assert.equal(serverSupportsShallow(0, new Set(["ofs-delta"])), false);
  assert.equal(serverSupportsShallow(2, new Set(["fetch=shallow wait-for-done"])), true);
  assert.equal(serverSupportsShallow(2, new Set(["fetch=filter", "shallow"])), false);
});

Deno.test("readPackResponse() v2 returns the shallow-info section's shallow and unshallow lines", async () => {
  const r = reader(
    encodePkt("acknowledgments\n"),
    encodePkt(`ACK ${C}\n`),
    encodePkt("ready\n"),
    "0001",
    encodePkt("shallow-info\n"),
    encodePkt(`shallow ${A}\n`),
    encodePkt(`unshallow ${B}\n`),
    "0001",
    encodePkt("packfile\n"),
    sb(1, "PACK2"),
    FLUSH_PKT,
  );
  const answer = await readPackResponse(r, 2);
  assert.deepEqual(answer.shallow, [A]);
  assert.deepEqual(answer.unshallow, [B]);
  assert.equal(dec.decode(answer.pack), "PACK2");
});

Deno.test("readPackResponse() v0 after deepen reads the shallow-update, then ACK/NAK and the pack", async () => {
  const r = reader(
    encodePkt(`shallow ${A}\n`),
    encodePkt(`unshallow ${B}\n`),
    FLUSH_PKT,
    encodePkt("NAK\n"),
    sb(1, "PACK0"),
    FLUSH_PKT,
  );
  const answer = await readPackResponse(r, 0, { deepen: true });
  assert.deepEqual([answer.shallow, answer.unshallow], [[A], [B]]);
  assert.equal(dec.decode(answer.pack), "PACK0");
  // Without deepen the same flush would end the answer: no shallow-update is expected.
  const plain = await readPackResponse(reader(encodePkt("NAK\n"), sb(1, "PACK"), FLUSH_PKT), 0);
  assert.deepEqual([plain.shallow, plain.unshallow], [[], []]);
});

Deno.test("readPackResponse() rejects a malformed shallow line and a pack cut before its flush", async () => {
  const bad = reader(encodePkt("shallow-info\n"), encodePkt("shallow nope\n"), "0001");
  await assert.rejects(
    () => readPackResponse(bad, 2),
    (e: unknown) => e instanceof GitRemoteError && /shallow info was expected/.test(e.message),
  );
  const cut = reader(encodePkt("packfile\n"), sb(1, "PACK"), sb(1, "half"));
  await assert.rejects(
    () => readPackResponse(cut, 2),
    (e: unknown) => e instanceof GitRemoteError && /before it finished sending/.test(e.message),
  );
  const cutV0 = reader(encodePkt("NAK\n"), sb(1, "PACK"));
  await assert.rejects(() => readPackResponse(cutV0, 0), GitRemoteError);
});

Deno.test("readV0Advertisement() keeps a shallow server's shallow lines apart from its refs", async () => {
  const adv = await readV0Advertisement(
    reader(
      encodePkt(`${A} HEAD\0shallow side-band-64k\n`),
      encodePkt(`${A} refs/heads/main\n`),
      encodePkt(`shallow ${B}\n`),
      FLUSH_PKT,
    ),
    { smartHttp: false },
  );
  assert.deepEqual([...adv.refs.keys()], ["HEAD", "refs/heads/main"]);
  assert.deepEqual(adv.shallow, [B]);
});

Deno.test("buildReceivePackRequest() carries capabilities, the flush and the pack", () => {
  const caps = new Set([
    "report-status",
    "side-band-64k",
    "atomic",
    "quiet",
    "delete-refs",
    "agent=git/2",
  ]);
  const updates = [
    { ref: "refs/exps/a", oldOid: ZERO_OID, newOid: A },
    { ref: "refs/exps/b", oldOid: B, newOid: ZERO_OID },
  ];
  const pack = enc.encode("PACKdata");
  const text = dec.decode(buildReceivePackRequest(updates, pack, caps, { atomic: true }));
  const first =
    `${ZERO_OID} ${A} refs/exps/a\0report-status side-band-64k atomic quiet agent=dxp/0.1.0\n`;
  assert.equal(text.slice(0, 4), (first.length + 4).toString(16).padStart(4, "0"));
  assert.ok(text.includes(first));
  assert.ok(text.endsWith(`${B} ${ZERO_OID} refs/exps/b\n0000PACKdata`));
  const noAtomic = dec.decode(
    buildReceivePackRequest(updates, pack, new Set(["report-status"]), { atomic: true }),
  );
  assert.ok(!noAtomic.includes("atomic") && !noAtomic.includes("side-band"));
});

Deno.test("buildReceivePackRequest() omits the pack for deletes and sends a flush for nothing", () => {
  const del = dec.decode(
    buildReceivePackRequest(
      [{ ref: "refs/x", oldOid: A, newOid: ZERO_OID }],
      emptyPack(),
      new Set(),
      {
        atomic: false,
      },
    ),
  );
  assert.ok(del.endsWith("refs/x\0report-status\n0000"));
  assert.equal(dec.decode(buildReceivePackRequest([], null, new Set(), { atomic: false })), "0000");
  const noPack = buildReceivePackRequest(
    [{ ref: "refs/x", oldOid: ZERO_OID, newOid: A }],
    null,
    new Set(),
    {
      atomic: false,
    },
  );
  assert.deepEqual(noPack.slice(-32), emptyPack());
});

Deno.test("emptyPack() is git's 32-byte pack with no objects", () => {
  const hex = [...emptyPack()].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hex, "5041434b0000000200000000029d08823bd8a8eab510ad6ac75c823cfd3ed31e");
});

Deno.test("readReportStatus() parses ok/ng inside side-band and aligns with updates", async () => {
  const inner = concatBytes([
    encodePkt("unpack ok\n"),
    encodePkt("ok refs/exps/a\n"),
    encodePkt("ng refs/exps/b pre-receive hook declined\n"),
    FLUSH_PKT,
  ]);
  const r = reader(
    sb(2, "remote: nope\n"),
    sb(1, inner.slice(0, 7)),
    sb(1, inner.slice(7)),
    FLUSH_PKT,
  );
  const results = await readReportStatus(r, {
    sideband: true,
    updates: [
      { ref: "refs/exps/b", oldOid: ZERO_OID, newOid: A },
      { ref: "refs/exps/a", oldOid: ZERO_OID, newOid: A },
      { ref: "refs/exps/c", oldOid: ZERO_OID, newOid: A },
    ],
  });
  assert.deepEqual(results, [
    { ref: "refs/exps/b", ok: false, reason: "pre-receive hook declined" },
    { ref: "refs/exps/a", ok: true },
    { ref: "refs/exps/c", ok: false, reason: "no status reported by the remote" },
  ]);
});

Deno.test("readReportStatus() fails every ref on an unpack error (no side-band)", async () => {
  const r = reader(
    encodePkt("unpack index-pack abnormal exit\n"),
    encodePkt("ok refs/exps/a\n"),
    encodePkt("ng refs/exps/b unpacker error\n"),
    FLUSH_PKT,
  );
  const results = await readReportStatus(r, { sideband: false });
  assert.deepEqual(results, [
    { ref: "refs/exps/a", ok: false, reason: "unpack failed: index-pack abnormal exit" },
    { ref: "refs/exps/b", ok: false, reason: "unpacker error" },
  ]);
  await assert.rejects(
    () => readReportStatus(reader(FLUSH_PKT), { sideband: false }),
    GitRemoteError,
  );
});
