/**
 * Azurite (Microsoft's Azure Storage emulator, npm dev dependency) on
 * loopback, for the Azure store tests. It checks SharedKey signatures, SAS
 * tokens and — over HTTPS with `--oauth basic` — the claims of bearer tokens.
 *
 * Each instance runs detached from the test process (its own session, no
 * pipe to us), so Deno's resource sanitizers stay on; a watchdog kills it
 * (by its PID) when the test process ends, however it ends. `stop()` kills it
 * earlier. Containers and listings are made here with a SharedKey signer of
 * this file's own, written from the REST documentation, so what the tests
 * check does not rest on the store under test.
 */
import { Buffer } from "node:buffer";
import { execFile, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { processExists } from "../../lib/util/process_exists.ts";

export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const AZURITE_BIN = new URL("../../node_modules/.bin/azurite-blob", import.meta.url).pathname;

export interface Azurite {
  /** `http(s)://127.0.0.1:<port>/devstoreaccount1`: the path-style blob endpoint. */
  endpoint: string;
  /** A connection string for the dev account at this endpoint. */
  connectionString: string;
  /** Creates a container with a fresh name; `publicAccess` lets anonymous clients read and list. */
  newContainer(prefix: string, options?: { publicAccess?: boolean }): Promise<string>;
  /** The committed blob names of a container (List Blobs, all pages), sorted. */
  blobNames(container: string): Promise<string[]>;
  /** Blobs that so far have only uncommitted blocks (not visible as objects). */
  uncommittedBlobNames(container: string): Promise<string[]>;
  /** An account SAS for the blob service with the given permissions (e.g. "rwdlac"). */
  accountSas(permissions: string): string;
  /** A signed request to the emulator, as the account owner (`headers`: extra x-ms-* headers). */
  request(
    method: string,
    path: string,
    options?: { body?: Uint8Array<ArrayBuffer>; headers?: Record<string, string> },
  ): Promise<Response>;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Serve HTTPS with this certificate and key (PEM files) and check bearer tokens (`--oauth basic`). */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let shared: Promise<Azurite> | undefined;

/** One plain-HTTP Azurite for this test file (each test works in containers of its own). */
export function sharedAzurite(): Promise<Azurite> {
  return shared ??= startAzurite();
}

/** Starts an Azurite blob service on a free loopback port and waits until it answers. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const location = mkdtempSync(join(tmpdir(), "dxp-azurite-"));
  const pidFile = join(location, "azurite.pid");
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    const args = [
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--location",
      location,
      "--silent",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      ...(options.tls
        ? ["--cert", options.tls.certFile, "--key", options.tls.keyFile, "--oauth", "basic"]
        : []),
    ];
    await launchDetached(args, pidFile);
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    const scheme = options.tls ? "https" : "http";
    const endpoint = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
    if (await waitUntilListening(port, pid)) {
      const ca = options.tls ? readFileSync(options.tls.caFile, "utf8") : undefined;
      return client(endpoint, pid, ca);
    }
    kill(pid);
    if (attempt >= 3) throw new Error(`Azurite did not start on port ${port} (see ${location})`);
  }
}

/**
 * Starts azurite-blob in a new session with a watchdog that kills it when
 * this process ends; returns once its PID is in `pidFile`.
 */
function launchDetached(args: string[], pidFile: string): Promise<void> {
  const script = `
deno="$1"; pidfile="$2"; shift 2
"$@" >/dev/null 2>&1 &
echo $! > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
tail --pid="$deno" -s 0.2 -f /dev/null
kill -KILL $(cat "$pidfile") 2>/dev/null
`;
  return new Promise((resolve, reject) => {
    execFile(
      "sh",
      [
        "-c",
        'setsid sh -c "$0" dxp-azurite "$@" </dev/null >/dev/null 2>&1 &',
        script,
        String(process.pid),
        pidFile,
        AZURITE_BIN,
        ...args,
      ],
      async (error) => {
        if (error) return reject(error);
        for (let i = 0; i < 200; i++) {
          try {
            readFileSync(pidFile);
            return resolve();
          } catch {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
        reject(new Error("azurite-blob did not start"));
      },
    );
  });
}

function kill(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

async function waitUntilListening(port: number, pid: number): Promise<boolean> {
  const { connect } = await import("node:net");
  for (let i = 0; i < 300; i++) {
    if (!processExists(pid)) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

let counter = 0;

function client(endpoint: string, pid: number, ca: string | undefined): Azurite {
  const key = Buffer.from(AZURITE_KEY, "base64");
  const httpClient = ca === undefined ? undefined : Deno.createHttpClient({ caCerts: [ca] });
  const request: Azurite["request"] = async (method, path, options = {}) => {
    const { body } = options;
    const url = new URL(`${endpoint}${path}`);
    const headers: Record<string, string> = {
      ...options.headers,
      "x-ms-date": new Date().toUTCString(),
      "x-ms-version": "2021-08-06",
    };
    const length = body && body.length > 0 ? String(body.length) : "";
    const xms = Object.keys(headers).sort().map((name) => `${name}:${headers[name]}\n`).join("");
    const query = [...url.searchParams.entries()]
      .map(([name, value]) => [name.toLowerCase(), value] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => `\n${name}:${value}`)
      .join("");
    const toSign =
      `${method}\n\n\n${length}\n\n\n\n\n\n\n\n\n${xms}/${AZURITE_ACCOUNT}${url.pathname}${query}`;
    headers["authorization"] = `SharedKey ${AZURITE_ACCOUNT}:${
      createHmac("sha256", key).update(toSign, "utf8").digest("base64")
    }`;
    return await fetch(url, {
      method,
      headers,
      ...(body ? { body } : {}),
      ...(httpClient ? { client: httpClient } : {}),
    });
  };
  const list = async (container: string, include: string) => {
    const names: string[] = [];
    let marker = "";
    do {
      const response = await request(
        "GET",
        `/${container}?comp=list&restype=container${include}${
          marker ? `&marker=${encodeURIComponent(marker)}` : ""
        }`,
      );
      const xml = await response.text();
      if (!response.ok) throw new Error(`List Blobs failed: ${response.status} ${xml}`);
      for (const match of xml.matchAll(/<Blob>[\s\S]*?<Name>([\s\S]*?)<\/Name>[\s\S]*?<\/Blob>/g)) {
        names.push(decodeXml(match[1]!));
      }
      marker = decodeXml(/<NextMarker>([\s\S]*?)<\/NextMarker>/.exec(xml)?.[1] ?? "");
    } while (marker !== "");
    return names.sort();
  };
  return {
    endpoint,
    connectionString: `DefaultEndpointsProtocol=${
      endpoint.split(":")[0]
    };AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    async newContainer(prefix, options = {}) {
      const name = `${prefix}-${process.pid}-${++counter}-${Date.now() % 100000}`.toLowerCase();
      const response = await request("PUT", `/${name}?restype=container`, {
        headers: options.publicAccess ? { "x-ms-blob-public-access": "container" } : {},
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`Create Container answered ${response.status}`);
      return name;
    },
    blobNames: (container) => list(container, ""),
    async uncommittedBlobNames(container) {
      const all = await list(container, "&include=uncommittedblobs");
      const committed = new Set(await list(container, ""));
      return all.filter((name) => !committed.has(name));
    },
    accountSas(permissions) {
      const version = "2019-12-12";
      const expiry = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const toSign = [AZURITE_ACCOUNT, permissions, "b", "sco", "", expiry, "", "", version, ""]
        .join("\n");
      const sig = createHmac("sha256", key).update(toSign, "utf8").digest("base64");
      return new URLSearchParams({
        sv: version,
        ss: "b",
        srt: "sco",
        sp: permissions,
        se: expiry,
        sig,
      }).toString();
    },
    request,
    stop() {
      kill(pid);
      httpClient?.close();
      return Promise.resolve();
    },
  };
}

/**
 * A throw-away CA and a server certificate for 127.0.0.1 (PEM files in
 * `dir`), to serve Azurite over HTTPS; clients trust `caFile`.
 */
export function testPki(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.pem");
  const keyFile = join(dir, "server.key");
  const csr = join(dir, "server.csr");
  const certFile = join(dir, "server.pem");
  const ext = join(dir, "server.ext");
  const openssl = (args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const key = ["-newkey", "rsa:2048", "-nodes"];
  // deno-fmt-ignore
  openssl([
    "req", "-x509", ...key, "-keyout", caKey, "-out", caFile, "-days", "2",
    "-subj", "/CN=dxp test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  openssl(["req", ...key, "-keyout", keyFile, "-out", csr, "-subj", "/CN=127.0.0.1"]);
  writeFileSync(
    ext,
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  // deno-fmt-ignore
  openssl([
    "x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial",
    "-out", certFile, "-days", "2", "-extfile", ext,
  ]);
  return { caFile, certFile, keyFile };
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_all, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[ref]!;
  });
}
