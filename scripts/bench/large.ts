/**
 * Several large objects (model checkpoints) to and from a local remote: the
 * copies whose md5 is most of their cost, and which the copying thread
 * shares between the two cores. `dxp push` to an empty remote and `dxp
 * fetch` into an empty cache, against `cp -r` of the same objects and
 * `md5sum` of them on one core and on two (`xargs -P 2`): dxp copies and
 * verifies, so "md5sum -P 2" is the floor on this machine. And `dxp fetch`
 * from an HTTP remote (the same objects served by serve_folder.ts on
 * 127.0.0.1) against `curl` of them, which neither hashes nor renames.
 *
 *   ./node_modules/.bin/deno run -A scripts/bench/large.ts
 *   LARGE_FILES=4 LARGE_MIB=256 RUNS=5 BASE_BIN=/tmp/dxp_old ./node_modules/.bin/deno run -A scripts/bench/large.ts
 *
 * BASE_BIN adds the same rows for another binary, interleaved (a before and
 * after). The project lives on tmpfs (/dev/shm) when there is one, so the
 * disk's writeback does not decide the figures. Each figure is the median
 * of RUNS (default 3).
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  buildScaleRepo,
  cloneScaleRepo,
  scaleScratchDir,
  setLocalRemote,
} from "../../tests/helpers/scale_repo.ts";
import {
  DENO,
  DXP,
  ensureBuilt,
  fmt,
  machineNote,
  median,
  printTable,
  ROOT,
  runsFrom,
} from "./bench_kit.ts";
import { type Timed, timed } from "./data_kit.ts";

const runs = runsFrom("RUNS", 3);
const files = runsFrom("LARGE_FILES", 4);
const mib = runsFrom("LARGE_MIB", 256);
const baseBin = process.env["BASE_BIN"];

ensureBuilt();
const dir = scaleScratchDir("dxp-bench-large-");
process.on("exit", () => rmRf(dir));

function rmRf(path: string): void {
  spawnSync("chmod", ["-R", "u+w", path]);
  rmSync(path, { recursive: true, force: true });
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const objectCount = (root: string) =>
  readdirSync(join(root, "files", "md5"), { recursive: true }).filter((n) => String(n).length > 2)
    .length;

const s = buildScaleRepo(join(dir, "sample"), files, { fileSize: mib * 1024 * 1024 });
const cacheObjects = join(s.repo, ".dvc", "cache", "files", "md5");
const objectPaths = readdirSync(cacheObjects, { recursive: true, encoding: "utf8" })
  .filter((n) => n.length > 2 && !n.endsWith(".dir"))
  .map((n) => join(cacheObjects, n));
const bins: [string, string][] = [["dxp", DXP]];
if (baseBin !== undefined) bins.push(["base", baseBin]);

// The objects as an HTTP remote: a pushed copy of them, served by a process of its own.
const served = join(dir, "served");
setLocalRemote(s.repo, served);
spawnSync(DXP, ["push", "-q"], { cwd: s.repo });
check(objectCount(served) === files + 1, "the served remote holds every object");
const server = spawn(
  DENO,
  ["run", "-A", join(ROOT, "scripts", "bench", "serve_folder.ts"), served],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
process.on("exit", () => server.kill());
const [portLine] = await once(server.stdout!, "data") as [Buffer];
const httpUrl = `http://127.0.0.1:${String(portLine).trim()}`;
const servedKeys = readdirSync(join(served, "files", "md5"), { recursive: true, encoding: "utf8" })
  .filter((n) => n.length > 2).map((n) => `files/md5/${n}`);

const t = new Map<string, Timed[]>();
const add = (label: string, sample: Timed) => t.set(label, [...(t.get(label) ?? []), sample]);
const env = { ...process.env, NO_COLOR: "1" };

for (let i = 0; i < runs; i++) {
  for (const [name, bin] of i % 2 === 0 ? bins : [...bins].reverse()) {
    const remote = join(dir, `remote-${name}`);
    rmRf(remote);
    setLocalRemote(s.repo, remote);
    add(`${name} push (empty remote)`, timed(bin, ["push", "-q"], { cwd: s.repo, env }));
    check(objectCount(remote) === files + 1, `${name} pushed every object`);
    const clone = join(dir, `clone-${name}`);
    rmRf(clone);
    cloneScaleRepo(s, clone, remote);
    add(`${name} fetch (empty cache)`, timed(bin, ["fetch", "-q"], { cwd: clone, env }));
    check(objectCount(join(clone, ".dvc", "cache")) === files + 1, `${name} fetched every object`);
    rmRf(remote);
    rmRf(clone);
    const httpClone = join(dir, `http-clone-${name}`);
    cloneScaleRepo(s, httpClone, httpUrl);
    add(
      `${name} fetch (HTTP remote, empty cache)`,
      timed(bin, ["fetch", "-q"], { cwd: httpClone, env }),
    );
    check(
      objectCount(join(httpClone, ".dvc", "cache")) === files + 1,
      `${name} fetched every object over HTTP`,
    );
    rmRf(httpClone);
  }
  const fetched = join(dir, "curl");
  add(
    "curl (objects from the HTTP remote, no hashing)",
    timed("curl", [
      "-sf",
      "--create-dirs",
      ...servedKeys.flatMap((key) => ["-o", join(fetched, key), `${httpUrl}/${key}`]),
    ]),
  );
  rmRf(fetched);
  const copy = join(dir, "copy");
  add("cp -r (objects)", timed("cp", ["-r", cacheObjects, copy]));
  rmRf(copy);
  add("md5sum (objects, one core)", timed("md5sum", objectPaths));
  add(
    "md5sum (objects, xargs -P 2)",
    timed("sh", ["-c", 'printf "%s\\n" "$@" | xargs -P 2 -n 1 md5sum', "sh", ...objectPaths]),
  );
}

// Its pipe would keep this process alive.
server.kill();

const bytes = files * mib * 1024 * 1024;
const rows = [...t.entries()].map(([label, samples]) => {
  const ms = median(samples.map((x) => x.ms));
  return [
    label,
    fmt(ms),
    fmt(Math.max(...samples.map((x) => x.rssMb))),
    `${fmt(bytes / (ms / 1000) / 1e6)} MB/s`,
  ];
});
printTable(
  `${files} x ${mib} MiB to and from a local remote on ${
    dir.startsWith("/dev/shm") ? "tmpfs" : "disk"
  }, median of ${runs} interleaved runs; ${machineNote()}`,
  ["command", "ms", "peak RSS MB", "rate"],
  rows,
);
