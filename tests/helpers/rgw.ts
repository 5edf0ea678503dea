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

export interface Rgw {
  /** `http://127.0.0.1:<port>` (path-style S3). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Seconds the cluster took to answer S3. */
  startSeconds: number;
  /** Creates a bucket (PUT Bucket) with the test user's keys. */
  createBucket(name: string): Promise<void>;
  /** Stops every daemon and removes the scratch folder. Safe to call twice. */
  stop(): Promise<void>;
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
const DAEMONS = ["client.rgw.gw", "osd.0", "mon.a"]; // stop order: rgw still talks to the osd
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
 * Starts a cluster, or returns null when radosgw is not installed and `CI` is
 * unset (callers skip with a visible message). With `CI` set a missing
 * radosgw is an error: CI must run the S3 tests.
 */
export async function startRgw(): Promise<Rgw | null> {
  if (!rgwInstalled()) return null;
  const t0 = performance.now();
  const dir = join(tmpdir(), `dxp-rgw-${randomUUID().slice(0, 8)}`);
  await mkdir(join(dir, "run"), { recursive: true });
  await mkdir(join(dir, "log"), { recursive: true });
  await mkdir(join(dir, "crash"), { recursive: true });
  const conf = join(dir, "ceph.conf");
  const cluster = { dir, conf };
  const exitHook = () => killAllSync(cluster);
  process.on("exit", exitHook);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", exitHook);
    await stopDaemons(cluster);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const monPort = await freePort();
    const fsid = randomUUID();
    await writeFile(conf, cephConf(dir, fsid, port, monPort, freePortWindow()));
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
    const client = new AwsClient({
      accessKeyId: RGW_ACCESS_KEY,
      secretAccessKey: RGW_SECRET_KEY,
      service: "s3",
      region: RGW_REGION,
      retries: 0,
    });
    return {
      endpoint,
      accessKey: RGW_ACCESS_KEY,
      secretKey: RGW_SECRET_KEY,
      region: RGW_REGION,
      startSeconds: (performance.now() - t0) / 1000,
      async createBucket(name) {
        const response = await client.fetch(`${endpoint}/${name}`, { method: "PUT" });
        const text = await response.text();
        if (!response.ok) throw new Error(`create bucket '${name}': ${response.status} ${text}`);
      },
      stop,
    };
  } catch (error) {
    const log = tail(join(dir, "log", "client.rgw.gw.log")) || tail(join(dir, "log", "mon.a.log"));
    await stop();
    throw new Error(`starting Ceph RGW failed: ${(error as Error).message}\n${log}`);
  }
}

function cephConf(
  dir: string,
  fsid: string,
  port: number,
  monPort: number,
  bind: [number, number],
): string {
  return `[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${monPort}]
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_port_min = ${bind[0]}
ms_bind_port_max = ${bind[1]}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# radosgw otherwise waits 300 s for a secure mon session that cannot exist without cephx
ms_mon_client_mode = crc
auth_allow_insecure_global_id_reclaim = false
keyring = ${dir}/keyring
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
log_file = ${dir}/log/$name.log
crash_dir = ${dir}/crash
log_to_stderr = false
err_to_stderr = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 1
ms_async_op_threads = 2
debug_ms = 0

[mon]
mon_data = ${dir}/$name
mon_allow_pool_delete = true

[osd]
osd_data = ${dir}/$name
osd_objectstore = bluestore
# bluestore_block_path stays unset: pointing it at the OSD's own block file fails (symlink loop)
bluestore_block_create = true
bluestore_block_size = 21474836480
bluestore_fsck_on_mount = false
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 1073741824
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
bdev_enable_discard = false

[client]
rgw_data = ${dir}/rgw.$id
rgw_frontends = beast endpoint=127.0.0.1:${port}
rgw_dns_name = localhost
rgw_thread_pool_size = 32
rgw_dynamic_resharding = false
rgw_enable_usage_log = false
debug_rgw = 1
# SSE-C over plain http, so tests can exercise customer keys on loopback
rgw_crypt_require_ssl = false
`;
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
  for (const name of DAEMONS) {
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
  for (const name of DAEMONS) {
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
