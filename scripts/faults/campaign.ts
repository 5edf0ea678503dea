/**
 * The fault campaign: N runs, each one command (exp push, exp pull, pull,
 * checkout, exp apply) broken by one fault (scripts/faults/inject.ts) in a
 * fresh world; after each, the invariants of scripts/faults/invariants.ts;
 * then the same command again without the fault, which must end as a clean
 * run ends (same exit code, same files, refs and remote objects) with the
 * invariants still holding. Prints fault kind × runs × violations.
 *
 *   deno run -A scripts/faults/campaign.ts --runs 120
 *   deno run -A scripts/faults/campaign.ts --runs 20 --kinds sigkill,enospc --seed 7
 *
 * Needs root (tmpfs mounts, running as nobody); RGW and sshd kinds are
 * skipped when radosgw or sshd are not installed. Exit status 0 when no
 * invariant was violated.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DXP_BIN, goldenEnv } from "../../tests/helpers/tmp.ts";
import { rgwInstalled } from "../../tests/helpers/rgw.ts";
import { sharedRgw } from "../../tests/helpers/rgw_shared.ts";
import { type S3FaultProxy, startS3FaultProxy } from "../../tests/helpers/s3_fault_proxy.ts";
import { type Sshd, startSshd } from "../../tests/helpers/sshd.ts";
import { runAsync } from "../../tests/helpers/tmp.ts";
import {
  armProxy,
  type FaultKind,
  FAULTS,
  giveToNobody,
  killAtBytes,
  killSshAtBytes,
  lockFolder,
  mountTmpfs,
  proxyFault,
  randomSource,
  resizeTmpfs,
  runDxp,
  type RunResult,
  tmpfsUsed,
  unmount,
} from "./inject.ts";
import { checkInvariants, knownDigests, type Violation } from "./invariants.ts";
import { type OpName, outcome, prepare, type Prepared, writtenBytes } from "./ops.ts";
import { makeWorld, type RemoteKind, type Services, type World } from "./world.ts";

export interface CampaignOptions {
  readonly runs: number;
  readonly seed: number;
  readonly kinds?: readonly FaultKind[];
  /** Called with one line per run (progress). */
  readonly onRun?: (line: string) => void;
}

export interface KindTally {
  kind: FaultKind;
  runs: number;
  /** Runs where the fault hit the command before it finished. */
  injected: number;
  violations: number;
  ops: Set<OpName>;
}

export interface CampaignResult {
  readonly rows: KindTally[];
  readonly violations: { kind: FaultKind; op: OpName; run: number; violation: Violation }[];
  readonly skipped: string[];
}

interface Reference {
  code: number | null;
  outcome: string;
  /** Bytes the clean command wrote (remote or local folders). */
  written: number;
  /** Bytes the clean command added to its file system (ENOSPC sizing). */
  grown: number;
}

/** One world root; on a tmpfs of `tmpfsBytes` when given. */
function newRoot(tmpfsBytes?: number): { root: string; dispose(): void } {
  const root = mkdtempSync(join(tmpdir(), "dxp-fault-"));
  if (tmpfsBytes !== undefined) mountTmpfs(root, tmpfsBytes);
  return {
    root,
    dispose() {
      if (tmpfsBytes !== undefined) unmount(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const BIG_TMPFS = 1 << 30;

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const random = randomSource(options.seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const skipped: string[] = [];
  let kinds = options.kinds ?? (Object.keys(FAULTS) as FaultKind[]);
  const needs = (remote: RemoteKind) => kinds.some((k) => FAULTS[k].remote === remote);

  let proxy: S3FaultProxy | undefined;
  let sshd: Sshd | undefined;
  const services: { -readonly [K in keyof Services]: Services[K] } = {};
  if (needs("rgw")) {
    const rgw = rgwInstalled() ? await sharedRgw() : null;
    if (rgw === null) {
      skipped.push("RGW kinds: radosgw is not installed");
      kinds = kinds.filter((k) => FAULTS[k].remote !== "rgw");
    } else {
      proxy = await startS3FaultProxy(rgw.endpoint);
      services.rgw = {
        proxyEndpoint: proxy.endpoint,
        endpoint: rgw.endpoint,
        accessKey: rgw.accessKey,
        secretKey: rgw.secretKey,
        newBucket: () => rgw.newBucket("faults"),
      };
    }
  }
  if (needs("sftp")) {
    try {
      sshd = await startSshd();
      services.sshd = sshd;
    } catch (error) {
      skipped.push(`SFTP kinds: ${(error as Error).message}`);
      kinds = kinds.filter((k) => FAULTS[k].remote !== "sftp");
    }
  }

  const rows = new Map<FaultKind, KindTally>(
    kinds.map((kind) => [kind, { kind, runs: 0, injected: 0, violations: 0, ops: new Set() }]),
  );
  const violations: CampaignResult["violations"] = [];
  const references = new Map<string, Reference>();
  const baseEnv = (home: string) => ({
    ...goldenEnv(home),
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "safe.directory",
    GIT_CONFIG_VALUE_0: "*",
  });
  const dxpIn = (world: World) => (args: string[], cwd: string) =>
    runAsync(DXP_BIN, args, { cwd, env: world.env });

  /** A clean run of `op` on `remote` (on a tmpfs, to measure its growth). */
  const reference = async (op: OpName, remote: RemoteKind): Promise<Reference> => {
    const key = `${op}|${remote}`;
    const known = references.get(key);
    if (known !== undefined) return known;
    const space = newRoot(remote === "local" ? BIG_TMPFS : undefined);
    try {
      const world = await makeWorld(space.root, remote, services, baseEnv(space.root));
      const prepared = await prepare(op, world, dxpIn(world));
      const usedBefore = remote === "local" ? tmpfsUsed(space.root) : 0;
      const writtenBefore = writtenBytes(prepared, world);
      const result = await runDxp(DXP_BIN, prepared, world);
      const ref: Reference = {
        code: result.code,
        outcome: await outcome(prepared, world),
        written: writtenBytes(prepared, world) - writtenBefore,
        grown: remote === "local" ? tmpfsUsed(space.root) - usedBefore : 0,
      };
      const problems = await checkInvariants(world, prepared, knownDigests(world));
      if (problems.length > 0) {
        throw new Error(`the clean run of '${op}' already breaks: ${JSON.stringify(problems)}`);
      }
      references.set(key, ref);
      return ref;
    } finally {
      space.dispose();
    }
  };

  // Kinds take turns, each going through its commands: every kind runs as often as the others.
  const order = Array.from({ length: options.runs }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    const ops = FAULTS[kind].ops;
    return { kind, op: ops[Math.floor(i / kinds.length) % ops.length]! };
  });
  // A seeded shuffle: the same seed replays the same campaign.
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }

  try {
    for (const [index, { kind, op }] of order.entries()) {
      const remoteKind = FAULTS[kind].remote;
      const ref = await reference(op, remoteKind);
      const space = newRoot(kind === "enospc" ? BIG_TMPFS : undefined);
      const row = rows.get(kind)!;
      row.runs++;
      row.ops.add(op);
      const found: Violation[] = [];
      let faulted: RunResult | undefined;
      let hit = false;
      try {
        const world = await makeWorld(space.root, remoteKind, services, baseEnv(space.root));
        const prepared = await prepare(op, world, dxpIn(world));
        const known = knownDigests(world);
        const fraction = 0.05 + 0.9 * random();
        const asNobody = kind === "eacces";
        if (kind === "enospc") {
          resizeTmpfs(space.root, tmpfsUsed(space.root) + Math.max(4096, fraction * ref.grown));
        }
        if (asNobody) {
          // Everything is nobody's but one folder the command must write into.
          const locked = lockRandomFolder(prepared, world, pick);
          giveToNobody(space.root);
          lockFolder(locked);
        }
        let injectedByProxy: (() => boolean) | undefined;
        if (proxy !== undefined && remoteKind === "rgw") {
          const objects = world.sample.experiments.at(-1)!.objects.length;
          const fault = op === "exp push" && kind === "truncate" ? "corrupt" : proxyFault(kind);
          injectedByProxy = armProxy(
            proxy,
            fault,
            prepared.toRemote,
            Math.floor(random() * objects),
            1 + Math.floor(random() * 6),
          );
        }
        const start = writtenBytes(prepared, world);
        const threshold = fraction * ref.written;
        const watch = kind === "sigkill"
          ? killAtBytes(start, threshold)
          : kind === "ssh-killed"
          ? killSshAtBytes(start, threshold)
          : undefined;
        faulted = await runDxp(DXP_BIN, prepared, world, { asNobody, ...(watch ? { watch } : {}) });
        proxy?.clear();
        // A SIGKILL hits only if dxp had not exited yet (it then ends by the signal, code null).
        const injected = (faulted.injected && (kind !== "sigkill" || faulted.code === null)) ||
          (injectedByProxy?.() ?? false) ||
          ((kind === "enospc" || kind === "eacces") && faulted.code !== ref.code);
        hit = injected;
        if (injected) row.injected++;
        if (faulted.hung) {
          found.push({ invariant: "ends", detail: "the faulted command did not end in 3 minutes" });
        }
        if (!faulted.hung && faulted.stderr.includes("\n    at ")) {
          found.push({
            invariant: "clear-error",
            detail: `a stack trace: ${faulted.stderr.slice(0, 300)}`,
          });
        }
        found.push(...await checkInvariants(world, prepared, known));

        // The rerun, without the fault, ends as a clean run does.
        if (kind === "enospc") resizeTmpfs(space.root, BIG_TMPFS);
        if (asNobody) giveToNobody(space.root);
        const rerun = await runDxp(DXP_BIN, prepared, world, { asNobody });
        if (rerun.code !== ref.code) {
          found.push({
            invariant: "rerun-completes",
            detail: `the rerun exited ${rerun.code}, a clean run ${ref.code}: ${
              rerun.stderr.trim().split("\n").at(-1)
            }`,
          });
        }
        const after = await outcome(prepared, world);
        if (after !== ref.outcome) {
          found.push({
            invariant: "rerun-completes",
            detail: `the rerun's result differs from a clean run's: ${
              diffLines(ref.outcome, after)
            }`,
          });
        }
        found.push(
          ...(await checkInvariants(world, prepared, known)).map((v) => ({
            ...v,
            invariant: `${v.invariant} (after rerun)`,
          })),
        );
      } catch (error) {
        found.push({
          invariant: "campaign",
          detail: `the run could not be carried out: ${(error as Error).stack ?? error}`,
        });
      } finally {
        try {
          space.dispose();
        } catch (error) {
          found.push({
            invariant: "campaign",
            detail: `cleanup failed: ${(error as Error).message}`,
          });
        }
      }
      row.violations += found.length;
      for (const violation of found) violations.push({ kind, op, run: index + 1, violation });
      options.onRun?.(
        `run ${index + 1}/${order.length}: ${kind} during '${op}': exit ${
          faulted?.code ?? "killed"
        }` +
          `${hit ? " (hit)" : ""}, ${found.length} violation(s)` +
          (found.length > 0
            ? `\n  ${found.map((v) => `${v.invariant}: ${v.detail}`).join("\n  ")}`
            : ""),
      );
    }
  } finally {
    await proxy?.stop();
    await sshd?.stop();
  }
  return { rows: [...rows.values()], violations, skipped };
}

/** One folder the command must write into (created empty when missing), to be made unwritable. */
function lockRandomFolder(
  prepared: Prepared,
  world: World,
  pick: <T>(items: readonly T[]) => T,
): string {
  const exp = world.sample.experiments.at(-1)!;
  const shard = (base: string, keys: readonly string[]) =>
    join(base, pick(keys).split("/").slice(0, 3).join("/"));
  switch (prepared.op) {
    case "exp push":
      return shard(world.sample.dvcStore, exp.objects);
    case "exp pull":
      return shard(join(prepared.cwd, ".dvc", "cache"), exp.objects);
    case "pull":
      return pick([
        shard(join(prepared.cwd, ".dvc", "cache"), world.sample.baselines.at(-1)!.objects),
        join(prepared.cwd, "data_out"),
      ]);
    case "checkout":
    case "exp apply":
      return join(prepared.cwd, pick(["data_out", "data_out/shards", "data_out/nested"]));
  }
}

function diffLines(expected: string, actual: string): string {
  const a = new Set(expected.split("\n"));
  const b = new Set(actual.split("\n"));
  const missing = [...a].filter((l) => !b.has(l)).slice(0, 3);
  const extra = [...b].filter((l) => !a.has(l)).slice(0, 3);
  return `missing [${missing.join("; ")}] extra [${extra.join("; ")}]`;
}

/** The table of a campaign: fault kind × runs × violations. */
export function formatTable(result: CampaignResult): string {
  const head = ["fault kind", "commands", "runs", "hit", "violations"];
  const rows = result.rows.map((r) => [
    FAULTS[r.kind].label,
    [...r.ops].sort().join(", "),
    String(r.runs),
    String(r.injected),
    String(r.violations),
  ]);
  const total = [
    "total",
    "",
    String(result.rows.reduce((n, r) => n + r.runs, 0)),
    String(result.rows.reduce((n, r) => n + r.injected, 0)),
    String(result.rows.reduce((n, r) => n + r.violations, 0)),
  ];
  const all = [head, ...rows, total];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(head),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
    line(total),
  ].join("\n");
}

function parseArgs(argv: string[]): CampaignOptions {
  let runs = 100;
  let seed = Math.floor(Math.random() * 2 ** 31);
  let kinds: FaultKind[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i] ?? "";
    if (arg === "--runs") runs = Number(value());
    else if (arg === "--seed") seed = Number(value());
    else if (arg === "--kinds") {
      kinds = value().split(",") as FaultKind[];
      for (const k of kinds) if (!(k in FAULTS)) throw new Error(`unknown fault kind '${k}'`);
    } else throw new Error(`unknown argument '${arg}' (--runs N, --seed S, --kinds a,b)`);
  }
  return { runs, seed, ...(kinds ? { kinds } : {}) };
}

if (import.meta.main) {
  const options = parseArgs(process.argv.slice(2));
  console.log(`fault campaign: ${options.runs} runs, seed ${options.seed}`);
  const started = performance.now();
  const result = await runCampaign({ ...options, onRun: (line) => console.log(line) });
  for (const line of result.skipped) console.log(`skipped: ${line}`);
  console.log(`\n${formatTable(result)}\n`);
  console.log(`${Math.round((performance.now() - started) / 1000)} s`);
  process.exit(result.violations.length === 0 ? 0 : 1);
}
