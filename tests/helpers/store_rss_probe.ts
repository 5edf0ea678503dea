/**
 * Run by store_suite.ts under Bun (the runtime dist/dxp is built with): opens
 * a store from a remote config and, for each job in turn, puts a file and
 * gets it back, verified. Prints `{"peaks": [start, afterJob1, ...]}`: the
 * RSS at start and the peak RSS up to the end of each job. A warm-up job
 * first lets the caller tell the fixed working set (windows, buffers, the
 * heap's own slack) from growth that follows the object's size.
 *
 *   bun store_rss_probe.ts '{"remote": {...}, "jobs": [{"key", "source", "target", "hash", "size"}]}'
 */
import process from "node:process";
import { openStore } from "../../lib/store/registry.ts";
import type { RemoteConfig } from "../store_suite.ts";

interface Job {
  key: string;
  source: string;
  target: string;
  hash: string;
  size: number;
}

const { remote, jobs } = JSON.parse(process.argv[2]!) as { remote: RemoteConfig; jobs: Job[] };
const store = await openStore(
  { name: "probe", ...remote },
  { env: { ...process.env, ...remote.env } },
);
/**
 * Bun's collector runs late: left alone, the garbage of a transfer (each
 * request's copy of its chunk) piles up in proportion to the bytes moved and
 * would hide what is really kept. Collecting every few milliseconds leaves
 * what the store holds on to, which is what the caller bounds.
 */
const collect = (globalThis as { Bun?: { gc(synchronous: boolean): void } }).Bun?.gc;
collect?.(true);
const peaks = [process.memoryUsage.rss()];
let peak = peaks[0]!;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
  collect?.(true);
}, 10);
try {
  for (const job of jobs) {
    const expect = { hash: job.hash, scheme: "md5" as const };
    await store.put(job.key, job.source, { expect, size: job.size });
    await store.get(job.key, job.target, { expect, size: job.size });
    peaks.push(peak = Math.max(peak, process.memoryUsage.rss()));
  }
} finally {
  clearInterval(timer);
  await store.close();
}
console.log(JSON.stringify({ peaks }));
