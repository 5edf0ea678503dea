/**
 * Running one dxp command under one fault: SIGKILL once it has written a
 * chosen number of bytes, a file system that fills up (ENOSPC on a small
 * tmpfs), a folder it may not write (EACCES, running as nobody), S3 answers
 * broken by the fault proxy (5xx, 503 + Retry-After, resets, truncation),
 * or its ssh connection killed mid-transfer.
 */
import { execFileSync, spawn } from "node:child_process";
import { chownSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AS_NOBODY, NOBODY } from "../../tests/helpers/unprivileged.ts";
import type { S3Fault, S3FaultProxy } from "../../tests/helpers/s3_fault_proxy.ts";
import { type OpName, type Prepared, writtenBytes } from "./ops.ts";
import type { RemoteKind, World } from "./world.ts";

export type FaultKind =
  | "sigkill"
  | "enospc"
  | "eacces"
  | "http-500"
  | "http-503-retry-after"
  | "reset"
  | "truncate"
  | "ssh-killed";

const ALL_OPS: readonly OpName[] = ["exp push", "exp pull", "pull", "checkout", "exp apply"];
const TRANSFER_OPS: readonly OpName[] = ["exp push", "exp pull", "pull"];

/** Where each fault applies: its remote kind, the commands it can break, how it reads in the table. */
export const FAULTS: Record<
  FaultKind,
  { remote: RemoteKind; ops: readonly OpName[]; label: string }
> = {
  "sigkill": { remote: "local", ops: ALL_OPS, label: "SIGKILL at a byte count" },
  "enospc": { remote: "local", ops: ALL_OPS, label: "ENOSPC (small tmpfs)" },
  "eacces": { remote: "local", ops: ALL_OPS, label: "EACCES (as nobody)" },
  "http-500": { remote: "rgw", ops: TRANSFER_OPS, label: "RGW: HTTP 500" },
  "http-503-retry-after": { remote: "rgw", ops: TRANSFER_OPS, label: "RGW: 503 + Retry-After" },
  "reset": { remote: "rgw", ops: TRANSFER_OPS, label: "RGW: reset mid-request" },
  "truncate": { remote: "rgw", ops: TRANSFER_OPS, label: "RGW: body cut short" },
  "ssh-killed": { remote: "sftp", ops: TRANSFER_OPS, label: "SFTP: ssh killed" },
};

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The fault really hit the command (it had not finished yet, or a request was broken). */
  readonly injected: boolean;
  /** The command did not end within the time limit and was killed. */
  readonly hung: boolean;
}

/** A seeded random source (mulberry32), so a campaign can be replayed. */
export function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every process below `pid` (children, grandchildren…). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function commandOf(name: string, pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === name;
  } catch {
    return false;
  }
}

/** How long one command may take before the run counts as a hang. */
const TIME_LIMIT_MS = 180_000;

/**
 * Runs `bin args` in `prepared.cwd`; `watch`, when given, is called every few
 * milliseconds with the child's pid and the bytes written so far, and returns
 * true once it has injected its fault.
 */
export function runDxp(
  bin: string,
  prepared: Prepared,
  world: World,
  options: { asNobody?: boolean; watch?: (pid: number, written: number) => boolean } = {},
): Promise<RunResult> {
  const [program, ...args] = options.asNobody
    ? [...AS_NOBODY, bin, ...prepared.args]
    : [bin, ...prepared.args];
  return new Promise((resolve) => {
    const child = spawn(program!, args, { cwd: prepared.cwd, env: world.env });
    let stdout = "";
    let stderr = "";
    let injected = false;
    let hung = false;
    let exited = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d);
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d);
    const limit = setTimeout(() => {
      hung = true;
      for (const pid of descendants(child.pid!)) process.kill(pid, "SIGKILL");
      child.kill("SIGKILL");
    }, TIME_LIMIT_MS);
    const poll = () => {
      if (exited || injected || options.watch === undefined) return;
      // The dxp process itself (setpriv execs env, which execs dxp: same pid).
      if (options.watch(child.pid!, writtenBytes(prepared, world))) {
        injected = true;
        return;
      }
      setTimeout(poll, 3);
    };
    poll();
    child.on("close", (code) => {
      exited = true;
      clearTimeout(limit);
      resolve({ code, stdout, stderr, injected, hung });
    });
  });
}

/** A SIGKILL of dxp once `threshold` more bytes than at the start were written. */
export function killAtBytes(start: number, threshold: number) {
  return (pid: number, written: number) => {
    if (written - start < threshold) return false;
    process.kill(pid, "SIGKILL");
    return true;
  };
}

/** A SIGKILL of every ssh process dxp started, once `threshold` bytes were written. */
export function killSshAtBytes(start: number, threshold: number) {
  return (pid: number, written: number) => {
    if (written - start < threshold) return false;
    const ssh = descendants(pid).filter((p) => commandOf("ssh", p));
    if (ssh.length === 0) return false;
    for (const p of ssh) process.kill(p, "SIGKILL");
    return true;
  };
}

/** Bytes the tmpfs at `dir` holds. */
export function tmpfsUsed(dir: string): number {
  const out = execFileSync("df", ["-B1", "--output=used", dir], { encoding: "utf8" });
  return Number(out.trim().split("\n").at(-1));
}

export function mountTmpfs(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
}

export function resizeTmpfs(dir: string, bytes: number): void {
  execFileSync("mount", ["-o", `remount,size=${Math.ceil(bytes / 4096) * 4096}`, dir]);
}

export function unmount(dir: string): void {
  execFileSync("umount", [dir]);
}

/** Gives the whole world to nobody (the EACCES runs run dxp as nobody). */
export function giveToNobody(root: string): void {
  execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, root]);
}

/** A folder nobody may not write into: created (with its parents) and given to root. */
export function lockFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chownSync(dir, 0, 0);
}

/** Arms the fault proxy: after `skip` matching requests pass, the next `count` get `fault`. */
export function armProxy(
  proxy: S3FaultProxy,
  fault: S3Fault,
  toRemote: boolean,
  skip: number,
  count: number,
): () => boolean {
  const before = proxy.requests.length;
  let seen = 0;
  proxy.clear();
  proxy.failMatching(
    (method, url) => {
      if (!url.includes("/files/md5/")) return false;
      if (toRemote ? method !== "PUT" : method !== "GET") return false;
      return seen++ >= skip;
    },
    fault,
    count,
  );
  return () => proxy.requests.slice(before).some((r) => r.fault !== undefined);
}

/** The proxy fault of an RGW fault kind. */
export function proxyFault(kind: FaultKind): S3Fault {
  switch (kind) {
    case "http-500":
      return { status: 500 };
    case "http-503-retry-after":
      return { status: 503, code: "SlowDown", retryAfter: "1" };
    case "reset":
      return "reset";
    default:
      return "truncate";
  }
}

export { join };
