/**
 * One Ceph RGW for the whole test run. `deno test` runs every test file in
 * the same process but each in a fresh JavaScript realm, so module state
 * cannot carry the cluster from one file to the next: the first file that asks
 * starts it and leaves its address in a folder named after this process; the
 * next files find it there. Each file works in buckets of its own
 * (`newBucket`).
 *
 * There is no "end of the test run" hook in `deno test` (neither `unload` nor
 * `exit` fires once for the whole run), so a small watchdog, started before
 * the first daemon and detached from us, waits for this process to end — by
 * success, failure, Ctrl-C or SIGKILL — then kills the cluster's daemons
 * (checked by their ceph.conf, as rgw.ts does) and removes its folder.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { launchCluster, type Rgw, rgwClient, type RgwCluster, rgwInstalled } from "./rgw.ts";

/** The shared cluster: stopping it is the watchdog's job, so it has no `stop`. */
export type SharedRgw = Omit<Rgw, "stop">;

let attached: Promise<SharedRgw> | undefined;

/**
 * The test run's cluster, started on first use; null when radosgw is not
 * installed and `CI` is unset (callers skip with RGW_SKIP_MESSAGE).
 */
export function sharedRgw(): Promise<SharedRgw | null> {
  if (!rgwInstalled()) return Promise.resolve(null);
  return attached ??= attach();
}

/** The folder shared by every test file of this process (PID + start time: PIDs are reused). */
export function sharedRgwHome(pid = process.pid): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const startTicks = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  return join(tmpdir(), `dxp-rgw-run-${pid}-${startTicks}`);
}

async function attach(): Promise<SharedRgw> {
  const home = sharedRgwHome();
  try {
    mkdirSync(home);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return rgwClient(await startedBySomeoneElse(home));
  }
  await startWatchdog(home);
  try {
    const cluster = await launchCluster(join(home, "cluster"));
    writeFileSync(join(home, "cluster.json.tmp"), JSON.stringify(cluster));
    renameSync(join(home, "cluster.json.tmp"), join(home, "cluster.json"));
    return rgwClient(cluster);
  } catch (error) {
    writeFileSync(join(home, "failed"), (error as Error).message);
    throw error;
  }
}

/** Waits for the file that started the cluster to publish it (or its failure). */
async function startedBySomeoneElse(home: string): Promise<RgwCluster> {
  for (;;) {
    try {
      return JSON.parse(readFileSync(join(home, "cluster.json"), "utf8")) as RgwCluster;
    } catch {
      // not published yet
    }
    try {
      throw new Error(readFileSync(join(home, "failed"), "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs the watchdog in a new session with no tie to us: the launching shell
 * returns at once, so no child process or pipe outlives this call (Deno's
 * sanitizers stay on).
 */
function startWatchdog(home: string): Promise<void> {
  const script = `
deno="$1"; home="$2"; conf="$home/cluster/ceph.conf"
tail --pid="$deno" -s 0.1 -f /dev/null
ours() { [ -r "/proc/$1/cmdline" ] && tr '\\0' '\\n' < "/proc/$1/cmdline" | grep -qxF "$conf"; }
pids=""
for file in "$home"/cluster/run/*.pid; do
  [ -f "$file" ] || continue
  pid=$(cat "$file")
  if ours "$pid"; then kill -KILL "$pid" 2>/dev/null; pids="$pids $pid"; fi
done
for pid in $pids; do while ours "$pid"; do sleep 0.05; done; done
rm -rf "$home"
`;
  return new Promise((resolve, reject) => {
    execFile(
      "sh",
      [
        "-c",
        'setsid sh -c "$0" dxp-rgw-watchdog "$@" </dev/null >/dev/null 2>&1 &',
        script,
        String(process.pid),
        home,
      ],
      (error) => (error ? reject(error) : resolve()),
    );
  });
}
