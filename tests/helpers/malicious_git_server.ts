/**
 * A smart-HTTP Git server (protocol v0, side-band-64k) on loopback whose
 * answers the test writes: any ref advertisement (names and ids of its
 * choosing, as many as it likes) and any pack, sent whole or stalled
 * half-way with the connection left open. It speaks the real protocol, so
 * dxp's HTTP transport cannot tell it from git http-backend until the bytes
 * lie.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { deflateSync } from "node:zlib";
import { packEntryHeader } from "../../lib/git/pack/build_pack.ts";
import { ObjectStore } from "../../lib/git/pack/object_store.ts";
import { encodePkt, FLUSH_PKT } from "../../lib/git/protocol/pkt_line.ts";
import { run } from "./tmp.ts";
import { concatBytes } from "../../lib/util/bytes.ts";

export interface RawObject {
  readonly type: "commit" | "tree" | "blob" | "tag";
  readonly data: Uint8Array;
}

export interface MaliciousGitServer {
  /** `http://127.0.0.1:<port>/repo.git`. */
  readonly url: string;
  /** Refs to advertise, in order (any names, any ids). */
  refs: [string, string][];
  /** The pack to send for any fetch request. */
  pack: Uint8Array;
  /** Send only this many pack bytes, then keep the connection open and send nothing more. */
  stallAfter: number | undefined;
  /** Resolves once a stalled answer has sent its part. */
  readonly stalled: Promise<void>;
  /** Upload-pack requests received. */
  readonly fetches: number;
  stop(): Promise<void>;
}

const TYPE_CODES = { commit: 1, tree: 2, blob: 3, tag: 4 } as const;

/** A version-2 pack of whole objects, exactly as the bytes say (no checks). */
export function packOf(objects: readonly RawObject[]): Uint8Array {
  const header = new Uint8Array(12);
  header.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(header.buffer).setUint32(8, objects.length);
  const parts: Uint8Array[] = [header];
  for (const o of objects) {
    parts.push(packEntryHeader(TYPE_CODES[o.type], o.data.length), deflateSync(o.data));
  }
  const body = concatBytes(parts);
  return concatBytes([body, new Uint8Array(createHash("sha1").update(body).digest())]);
}

/** The objects `git rev-list --objects <tips> --not <haves>` names in `repo`, read whole. */
export async function objectsBetween(
  repo: string,
  tips: readonly string[],
  haves: readonly string[],
): Promise<(RawObject & { oid: string })[]> {
  const listed = run("git", ["rev-list", "--objects", ...tips, "--not", ...haves, "--"], {
    cwd: repo,
  });
  if (listed.code !== 0) throw new Error(listed.stderr);
  const oids = listed.stdout.split("\n").filter((l) => l !== "").map((l) => l.slice(0, 40));
  const store = ObjectStore.open(`${repo}/.git`);
  try {
    const out: (RawObject & { oid: string })[] = [];
    for (const oid of oids) out.push({ oid, ...(await store.read(oid)) });
    return out;
  } finally {
    await store.close();
  }
}

function band(channel: number, data: Uint8Array): Uint8Array {
  return encodePkt(concatBytes([new Uint8Array([channel]), data]));
}

/** Starts the server; `refs` and `pack` can be changed between requests. */
export async function startMaliciousGitServer(): Promise<MaliciousGitServer> {
  let markStalled: () => void = () => {};
  const stalled = new Promise<void>((resolve) => (markStalled = resolve));
  const state = {
    refs: [] as [string, string][],
    pack: packOf([]),
    stallAfter: undefined as number | undefined,
    fetches: 0,
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "GET" && url.startsWith("/repo.git/info/refs?service=git-upload-pack")) {
        res.writeHead(200, {
          "content-type": "application/x-git-upload-pack-advertisement",
          "cache-control": "no-cache",
        });
        const lines: Uint8Array[] = [encodePkt("# service=git-upload-pack\n"), FLUSH_PKT];
        const caps = "side-band-64k ofs-delta shallow no-progress agent=git/2.39.5";
        if (state.refs.length === 0) {
          lines.push(encodePkt(`${"0".repeat(40)} capabilities^{}\0${caps}\n`));
        }
        state.refs.forEach(([name, oid], i) => {
          lines.push(encodePkt(i === 0 ? `${oid} ${name}\0${caps}\n` : `${oid} ${name}\n`));
        });
        lines.push(FLUSH_PKT);
        res.end(concatBytes(lines));
        return;
      }
      if (req.method === "POST" && url === "/repo.git/git-upload-pack") {
        state.fetches++;
        res.writeHead(200, { "content-type": "application/x-git-upload-pack-result" });
        res.write(encodePkt("NAK\n"));
        const pack = state.pack;
        const cut = state.stallAfter === undefined
          ? pack.length
          : Math.min(state.stallAfter, pack.length);
        for (let at = 0; at < cut; at += 65000) {
          res.write(band(1, pack.subarray(at, Math.min(cut, at + 65000))));
        }
        if (state.stallAfter !== undefined) {
          markStalled();
          return; // the connection stays open; nothing more comes
        }
        res.end(FLUSH_PKT);
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    get refs() {
      return state.refs;
    },
    set refs(value) {
      state.refs = value;
    },
    get pack() {
      return state.pack;
    },
    set pack(value) {
      state.pack = value;
    },
    get stallAfter() {
      return state.stallAfter;
    },
    set stallAfter(value) {
      state.stallAfter = value;
    },
    stalled,
    get fetches() {
      return state.fetches;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
