/**
 * Fuzzing what a Git server says: pkt-line framing, side-band, the v0 ref
 * advertisement, v2 capabilities and ls-refs, fetch answers and push
 * report-status. Each must return or throw GitRemoteError (tests/helpers/fuzz.ts).
 */
import { concatBytes } from "../lib/util/bytes.ts";
import assert from "node:assert/strict";
import { GitRemoteError } from "../lib/errors/mod.ts";
import {
  readLsRefsResponse,
  readV0Advertisement,
  readV2Capabilities,
} from "../lib/git/protocol/advertisement.ts";
import { DELIM_PKT, encodePkt, FLUSH_PKT, PktReader } from "../lib/git/protocol/pkt_line.ts";
import { readReportStatus } from "../lib/git/protocol/receive_pack.ts";
import { demuxSideband } from "../lib/git/protocol/sideband.ts";
import { readPackResponse } from "../lib/git/protocol/upload_pack.ts";
import { chunked, fc, fuzzTargetAsync, mutatedBytes, streamOf, utf8 } from "./helpers/fuzz.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const ZERO = "0".repeat(40);

function pkts(...parts: (string | Uint8Array)[]): Uint8Array {
  return concatBytes(parts.map((p) => (typeof p === "string" ? encodePkt(p) : p)));
}

function band(channel: number, data: string | Uint8Array): Uint8Array {
  const payload = typeof data === "string" ? utf8(data) : data;
  return encodePkt(concatBytes([new Uint8Array([channel]), payload]));
}

const PACK_HEAD = utf8("PACK\0\0\0\x02\0\0\0\0");

const ADVERTISEMENTS = [
  pkts(
    `${A} HEAD\0multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main agent=git/2.39\n`,
    `${A} refs/heads/main\n`,
    `${B} refs/exps/aa/${"a".repeat(38)}/exp-1\n`,
    `${B} refs/tags/v1^{}\n`,
    `shallow ${A}\n`,
    FLUSH_PKT,
  ),
  pkts(
    "# service=git-upload-pack\n",
    FLUSH_PKT,
    `${ZERO} capabilities^{}\0report-status\n`,
    FLUSH_PKT,
  ),
  pkts("version 2\n", "agent=git/2.39\n", "ls-refs=unborn\n", "fetch=shallow\n", FLUSH_PKT),
  pkts("ERR access denied\n"),
];

const LS_REFS = [
  pkts(
    `${A} HEAD symref-target:refs/heads/main\n`,
    `${A} refs/heads/main\n`,
    `unborn HEAD symref-target:refs/heads/x\n`,
    `${B} refs/tags/v1 peeled:${A}\n`,
    FLUSH_PKT,
  ),
];

const PACK_ANSWERS_V0 = [
  pkts("NAK\n", band(2, "Counting objects\n"), band(1, PACK_HEAD), band(1, "rest"), FLUSH_PKT),
  concatBytes([pkts(`ACK ${A}\n`, "NAK\n"), PACK_HEAD]),
  pkts(`shallow ${A}\n`, `unshallow ${B}\n`, FLUSH_PKT, "NAK\n", band(3, "fatal: nope\n")),
];

const PACK_ANSWERS_V2 = [
  pkts(
    "acknowledgments\n",
    "NAK\n",
    DELIM_PKT,
    "shallow-info\n",
    `shallow ${A}\n`,
    DELIM_PKT,
    "packfile\n",
    band(2, "progress"),
    band(1, PACK_HEAD),
    FLUSH_PKT,
  ),
];

const REPORTS = [
  pkts(
    "unpack ok\n",
    "ok refs/exps/aa/bb/e1\n",
    "ng refs/exps/aa/bb/e2 non-fast-forward\n",
    FLUSH_PKT,
  ),
  pkts(
    band(1, pkts("unpack index-pack failed\n", "ng refs/heads/x failed\n", FLUSH_PKT)),
    band(2, "remote: hi\n"),
    FLUSH_PKT,
  ),
];

/** Tokens that make framing lie: lengths at the limits, special packets, ERR. */
const TOKENS = [
  "ffff",
  "0000",
  "0001",
  "0002",
  "0003",
  "0004",
  "fff0",
  "zzzz",
  "ERR x\n",
  "\0",
  "^{}",
  "version 2\n",
  "# service=x\n",
];

/** Bytes split into random chunks, as a socket delivers them. */
function stream(samples: Uint8Array[]) {
  return fc.tuple(mutatedBytes(samples, TOKENS), fc.array(fc.nat(), { maxLength: 6 }));
}

function reader([bytes, cuts]: [Uint8Array, number[]]): PktReader {
  return new PktReader(streamOf(chunked(bytes, cuts)));
}

const ALL = [...ADVERTISEMENTS, ...LS_REFS, ...PACK_ANSWERS_V0, ...PACK_ANSWERS_V2, ...REPORTS];

Deno.test("fuzz: PktReader.read() returns packets or throws GitRemoteError on any byte stream", async () => {
  await fuzzTargetAsync("pkt-line", stream(ALL), async (input) => {
    const r = reader(input);
    let total = 0;
    for (let pkt = await r.read(); pkt !== null; pkt = await r.read()) {
      if (pkt.kind === "data") total += pkt.data.length;
    }
    // No packet can hold more than the stream did.
    assert.ok(total <= input[0].length);
  });
});

Deno.test("fuzz: demuxSideband() yields channel 1 or throws GitRemoteError", async () => {
  await fuzzTargetAsync("side-band", stream([...PACK_ANSWERS_V0, ...REPORTS]), async (input) => {
    for await (const _ of demuxSideband(reader(input), () => {}, true)) { /* drained */ }
  });
});

Deno.test("fuzz: readV0Advertisement() parses or throws GitRemoteError (v0, v2, smart-HTTP)", async () => {
  await fuzzTargetAsync(
    "ref advertisement",
    fc.tuple(stream(ADVERTISEMENTS), fc.boolean()),
    async ([input, smartHttp]) => {
      const ad = await readV0Advertisement(reader(input), { smartHttp });
      for (const [name, oid] of ad.refs) {
        assert.match(oid, /^[0-9a-f]{40}$/);
        assert.notEqual(name, "");
      }
    },
  );
});

Deno.test("fuzz: readV2Capabilities() and readLsRefsResponse() parse or throw GitRemoteError", async () => {
  await fuzzTargetAsync("v2 capabilities", stream(ADVERTISEMENTS), async (input) => {
    await readV2Capabilities(reader(input));
  });
  await fuzzTargetAsync("v2 ls-refs", stream(LS_REFS), async (input) => {
    const { refs } = await readLsRefsResponse(reader(input));
    for (const oid of refs.values()) assert.match(oid, /^[0-9a-f]{40}$/);
  });
});

Deno.test("fuzz: readPackResponse() returns a pack or throws GitRemoteError (v0 and v2)", async () => {
  await fuzzTargetAsync(
    "fetch answer v0",
    fc.tuple(stream(PACK_ANSWERS_V0), fc.boolean(), fc.boolean()),
    async ([input, sideband, deepen]) => {
      const answer = await readPackResponse(reader(input), 0, { sideband, deepen });
      assert.ok(answer.pack.length <= input[0].length);
    },
  );
  await fuzzTargetAsync("fetch answer v2", stream(PACK_ANSWERS_V2), async (input) => {
    const answer = await readPackResponse(reader(input), 2);
    for (const oid of [...answer.shallow, ...answer.unshallow]) assert.match(oid, /^[0-9a-f]{40}$/);
  });
});

Deno.test("fuzz: readReportStatus() reports one result per update or throws GitRemoteError", async () => {
  const updates = [
    { ref: "refs/exps/aa/bb/e1", oldOid: ZERO, newOid: A },
    { ref: "refs/exps/aa/bb/e2", oldOid: ZERO, newOid: B },
  ];
  await fuzzTargetAsync(
    "push report-status",
    fc.tuple(stream(REPORTS), fc.boolean()),
    async ([input, sideband]) => {
      const results = await readReportStatus(reader(input), { sideband, updates });
      assert.deepEqual(results.map((r) => r.ref), updates.map((u) => u.ref));
    },
  );
});

Deno.test("a stream of 'ffff' lengths is read packet by packet, never buffered whole", async () => {
  // 4,000 maximal packets (256 MB) announced; the stream ends after a few: a clean error.
  const bogus = utf8("ffff".repeat(1000));
  await assert.rejects(
    async () => {
      const r = new PktReader(streamOf([bogus]));
      while ((await r.read()) !== null) { /* read */ }
    },
    GitRemoteError,
  );
  // A real 0xffff packet stream of 64 MiB goes through with bounded buffering.
  const payload = new Uint8Array(65516).fill(0x61);
  const one = encodePkt(payload);
  let served = 0;
  async function* endless() {
    while (served < 1024) {
      served++;
      yield one;
    }
  }
  const r = new PktReader(endless());
  let count = 0;
  while ((await r.read()) !== null) count++;
  assert.equal(count, 1024);
});
