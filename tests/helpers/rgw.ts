/**
 * A real S3 server for tests: a one-node Ceph cluster (one mon, one bluestore
 * OSD on a sparse file, no mgr, pools of size 1) with radosgw answering S3 on
 * 127.0.0.1 and a free port. Everything lives in a scratch folder; nothing in
 * /etc/ceph is read or written and no system service is started. Daemons are
 * stopped by the PIDs they record, after checking that each PID still runs
 * with our own ceph.conf.
 *
 * Why RGW: it checks SigV4, refuses bodies without Content-Length (411) and
 * small multipart parts, and pages listings like AWS, where lenient fakes
 * would let client bugs through.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { AwsClient } from "aws4fetch";
import { cephConf } from "./rgw_conf.ts";

export interface Rgw {
  /** `http://127.0.0.1:<port>` (path-style S3). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** The cluster's ceph.conf (for `radosgw-admin -c`). */
  conf: string;
  /** Seconds the cluster took to answer S3. */
  startSeconds: number;
  /** Creates a bucket (PUT Bucket) with the test user's keys. */
  createBucket(name: string): Promise<void>;
  /**
   * Creates a bucket named `<prefix>-<random>`, so test files sharing one
   * cluster never meet in a bucket.
   */
  newBucket(prefix: string): Promise<string>;
  /**
   * Every key in `bucket` as RGW's own bucket index holds it
   * (`radosgw-admin bucket list`), sorted: a check that does not go through
   * dxp's S3 client. Unfinished multipart uploads appear as `upload:<key>`.
   */
  bucketKeys(bucket: string): Promise<string[]>;
  /** Stops every daemon and removes the scratch folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** What a started cluster leaves for its users; `rgwClient` turns it into an `Rgw`. */
export interface RgwCluster {
  dir: string;
  conf: string;
  endpoint: string;
  startSeconds: number;
}

export const RGW_ACCESS_KEY = "DXPTESTACCESSKEY0001";
export const RGW_SECRET_KEY = "dxptestsecretkey00000000000000000000000001";
export const RGW_REGION = "us-east-1";

const TOOLS = [
  "ceph-mon",
  "ceph-osd",
  "radosgw",
  "radosgw-admin",
  "ceph",
  "monmaptool",
  "ceph-authtool",
];
/** Stop order: rgw still talks to the osd. `rgw_shared.ts` kills the same names. */
export const RGW_DAEMONS = ["client.rgw.gw", "osd.0", "mon.a"];
const INSTALL_HINT =
  "apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common";

/**
 * Whether the Ceph tools are installed. Throws when they are not and `CI` is
 * set: CI must run the S3 tests.
 */
export function rgwInstalled(): boolean {
  const missing = TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0 && process.env["CI"]) {
    throw new Error(
      `CI needs Ceph RGW for the S3 tests (missing ${missing.join(", ")}): ${INSTALL_HINT}`,
    );
  }
  return missing.length === 0;
}

/** Shown by test files that skip their S3 tests. */
export const RGW_SKIP_MESSAGE = `radosgw is not installed; S3 tests skipped (${INSTALL_HINT})`;

/**
 * Starts a cluster of its own that the caller stops, or returns null when
 * radosgw is not installed and `CI` is unset (callers skip with a visible
 * message). Tests use `sharedRgw()` (rgw_shared.ts) instead: one cluster per
 * test run.
 */
export async function startRgw(): Promise<Rgw | null> {
  if (!rgwInstalled()) return null;
  const dir = join(tmpdir(), `dxp-rgw-${randomUUID().slice(0, 8)}`);
  const exitHook = () => killAllSync({ dir, conf: join(dir, "ceph.conf") });
  process.on("exit", exitHook);
  const cluster = await launchCluster(dir).catch((error) => {
    process.off("exit", exitHook);
    throw error;
  });
  let stopped = false;
  return {
    ...rgwClient(cluster),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", exitHook);
      await stopDaemons(cluster);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates and starts a cluster in `dir` (which must not exist yet). On
 * failure its daemons are stopped, `dir` is removed and the error carries the
 * end of the daemons' logs.
 */
export async function launchCluster(dir: string): Promise<RgwCluster> {
  const t0 = performance.now();
  await mkdir(join(dir, "run"), { recursive: true });
  await mkdir(join(dir, "log"), { recursive: true });
  await mkdir(join(dir, "crash"), { recursive: true });
  const conf = join(dir, "ceph.conf");
  const cluster = { dir, conf };
  try {
    const port = await freePort();
    const monPort = await freePort();
    const fsid = randomUUID();
    await writeFile(conf, cephConf({ dir, fsid, port, monPort, bind: freePortWindow() }));
    const env = { ...process.env, CEPH_CONF: conf };
    const sh = (cmd: string, args: string[], timeoutMs = 120_000) =>
      exec(cmd, args, env, timeoutMs);

    await sh("monmaptool", [
      "--create",
      "--fsid",
      fsid,
      "--addv",
      "a",
      `[v2:127.0.0.1:${monPort}]`,
      join(dir, "monmap"),
    ]);
    const keyring = join(dir, "keyring");
    await sh("ceph-authtool", [
      "--create-keyring",
      keyring,
      "--gen-key",
      "-n",
      "mon.",
      "--cap",
      "mon",
      "allow *",
    ]);
    await sh("ceph-authtool", [
      keyring,
      "--gen-key",
      "-n",
      "client.admin",
      "--cap",
      "mon",
      "allow *",
      "--cap",
      "osd",
      "allow *",
      "--cap",
      "mgr",
      "allow *",
    ]);
    await sh("ceph-mon", [
      "-c",
      conf,
      "--mkfs",
      "-i",
      "a",
      "--monmap",
      join(dir, "monmap"),
      "--keyring",
      keyring,
    ]);
    await sh("ceph-mon", ["-c", conf, "-i", "a"]);

    const osdUuid = randomUUID();
    const id = (await sh("ceph", ["-c", conf, "--connect-timeout", "60", "osd", "new", osdUuid]))
      .trim();
    if (id !== "0") throw new Error(`unexpected osd id '${id}'`);
    await mkdir(join(dir, "osd.0"));
    await sh("ceph-osd", ["-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
    await sh("ceph-osd", ["-c", conf, "-i", "0"]);
    await sh("radosgw", ["-c", conf, "-n", "client.rgw.gw"]);

    const endpoint = `http://127.0.0.1:${port}`;
    await waitForS3(endpoint, cluster);
    await sh("radosgw-admin", [
      "-c",
      conf,
      "user",
      "create",
      "--uid=tester",
      "--display-name=tester",
      `--access-key=${RGW_ACCESS_KEY}`,
      `--secret-key=${RGW_SECRET_KEY}`,
    ]);
    return { dir, conf, endpoint, startSeconds: (performance.now() - t0) / 1000 };
  } catch (error) {
    const log = tail(join(dir, "log", "client.rgw.gw.log")) || tail(join(dir, "log", "mon.a.log"));
    await stopDaemons(cluster);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`starting Ceph RGW failed: ${(error as Error).message}\n${log}`);
  }
}

/** The test user's view of a running cluster (everything but `stop`). */
export function rgwClient(cluster: RgwCluster): Omit<Rgw, "stop"> {
  const client = new AwsClient({
    accessKeyId: RGW_ACCESS_KEY,
    secretAccessKey: RGW_SECRET_KEY,
    service: "s3",
    region: RGW_REGION,
    retries: 0,
  });
  const createBucket = async (name: string) => {
    const response = await client.fetch(`${cluster.endpoint}/${name}`, { method: "PUT" });
    const text = await response.text();
    if (!response.ok) throw new Error(`create bucket '${name}': ${response.status} ${text}`);
  };
  return {
    endpoint: cluster.endpoint,
    accessKey: RGW_ACCESS_KEY,
    secretKey: RGW_SECRET_KEY,
    region: RGW_REGION,
    conf: cluster.conf,
    startSeconds: cluster.startSeconds,
    createBucket,
    async newBucket(prefix) {
      const name = `${prefix}-${randomUUID().slice(0, 8)}`;
      await createBucket(name);
      return name;
    },
    async bucketKeys(bucket) {
      const out = await exec(
        "radosgw-admin",
        [
          "-c",
          cluster.conf,
          "bucket",
          "list",
          `--bucket=${bucket}`,
          "--max-entries=1000000",
        ],
        { ...process.env, CEPH_CONF: cluster.conf },
        120_000,
      );
      return indexKeys(JSON.parse(out) as IndexEntry[]);
    },
  };
}

interface IndexEntry {
  name: string;
}

const MULTIPART = "_multipart_";

/**
 * Keys of a `radosgw-admin bucket list` answer: plain objects by name; an
 * unfinished multipart upload has index entries `_multipart_<key>.<upload
 * id>.meta` and `…<upload id>.<part>`, reported once as `upload:<key>`.
 */
export function indexKeys(entries: readonly IndexEntry[]): string[] {
  const keys = new Set<string>();
  for (const { name } of entries) {
    if (!name.startsWith(MULTIPART)) keys.add(name);
    else if (name.endsWith(".meta")) {
      keys.add(`upload:${name.slice(MULTIPART.length).replace(/\.[^.]+\.meta$/, "")}`);
    }
  }
  return [...keys].sort();
}

async function waitForS3(endpoint: string, cluster: Cluster): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.status === 200 || response.status === 403) return;
    } catch {
      // not listening yet
    }
    if (daemonPid(cluster, "client.rgw.gw") === undefined && Date.now() > deadline - 110_000) {
      throw new Error("radosgw exited before answering S3");
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("S3 did not answer within 120 s");
}

/** Where a cluster's daemons record their PIDs, and the config they run with. */
interface Cluster {
  dir: string;
  conf: string;
}

/** The live PID recorded for `name`, only if that process runs with our ceph.conf. */
function daemonPid(cluster: Cluster, name: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(cluster.dir, "run", `${name}.pid`), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.includes(cluster.conf) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopDaemons(cluster: Cluster): Promise<void> {
  for (const name of RGW_DAEMONS) {
    const pid = daemonPid(cluster, name);
    if (pid === undefined) continue;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (daemonPid(cluster, name) === pid && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (daemonPid(cluster, name) === pid) process.kill(pid, "SIGKILL");
  }
}

/** Last resort when the test process exits without calling stop(). */
function killAllSync(cluster: Cluster): void {
  for (const name of RGW_DAEMONS) {
    const pid = daemonPid(cluster, name);
    if (pid !== undefined) process.kill(pid, "SIGKILL");
  }
}

function exec(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${cmd} failed: ${error.message} ${stderr}`.trim()));
        else resolve(stdout);
      },
    );
  });
}

function onPath(tool: string): boolean {
  const dirs = (process.env["PATH"] ?? "/usr/bin:/bin").split(":").concat(["/usr/sbin", "/sbin"]);
  return dirs.some((dir) => dir !== "" && existsSync(join(dir, tool)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A 100-port window for the OSD's messenger; it skips busy ports inside the window itself. */
function freePortWindow(): [number, number] {
  const base = 41000 + Math.floor(Math.random() * 180) * 100;
  return [base, base + 99];
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}
